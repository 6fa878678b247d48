/**
 * The estimated cost of a run from its pool's prices. One formula, used by the usage report
 * (services/usage.ts) and the dashboard's run pages: a pool is charged per hour of wall time
 * (a machine held), per CPU hour, and per GPU hour for the GPUs each run holds. Pure.
 */

/** A work pool's prices; a price left out (null) costs nothing. */
export interface PoolPrices {
  costPerHour: number | null;
  costPerCpuHour: number | null;
  costPerGpuHour: number | null;
  /** GPUs each run of the pool holds (for `costPerGpuHour`). */
  gpus: number | null;
  /** ISO 4217 code, e.g. "USD". */
  currency: string | null;
}

/** What a run used: wall and CPU time (user + system), in ms. */
export interface RunCompute {
  wallMs: number;
  cpuMs: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * wall hours × costPerHour + CPU hours × costPerCpuHour + wall hours × gpus × costPerGpuHour.
 *
 * @example
 * estimateRunCost({ wallMs: 1_800_000, cpuMs: 3_600_000 }, { costPerHour: 2, costPerCpuHour: 0.5, costPerGpuHour: null, gpus: null, currency: "USD" }); // 1.5
 */
export function estimateRunCost(compute: RunCompute, prices: PoolPrices): number {
  const wallHours = Math.max(0, compute.wallMs) / MS_PER_HOUR;
  const cpuHours = Math.max(0, compute.cpuMs) / MS_PER_HOUR;
  return wallHours * (prices.costPerHour ?? 0) + cpuHours * (prices.costPerCpuHour ?? 0) + wallHours * (prices.gpus ?? 0) * (prices.costPerGpuHour ?? 0);
}

/** Whether the pool charges anything (a pool without prices has no cost, not a cost of 0). */
export function hasPrices(prices: PoolPrices): boolean {
  return prices.costPerHour != null || prices.costPerCpuHour != null || prices.costPerGpuHour != null;
}

/** The prices a pool may be given, field by field (a price: a finite number ≥ 0; the currency: 3 capital letters). */
export const PRICE_FIELDS = ["costPerHour", "costPerCpuHour", "costPerGpuHour", "gpus"] as const;

/** ISO 4217's code for "no currency": a pool's costs when it has prices but names no currency. */
export const NO_CURRENCY = "XXX";

/** Why `prices` cannot be a pool's (naming the field, as `name` calls it), or null. */
export function poolPricesProblem(prices: Partial<PoolPrices>, name: (field: keyof PoolPrices) => string = (f) => f): string | null {
  for (const field of PRICE_FIELDS) {
    const value = prices[field];
    if (value != null && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) return `${name(field)} must be a number >= 0, got ${JSON.stringify(value)}`;
  }
  if (prices.currency != null && !/^[A-Z]{3}$/.test(prices.currency)) return `${name("currency")} must be a 3-letter ISO 4217 code in capitals, e.g. USD, got ${JSON.stringify(prices.currency)}`;
  return null;
}
