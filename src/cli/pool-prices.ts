/** `--cost-per-hour`, `--cost-per-cpu-hour`, `--cost-per-gpu-hour`, `--gpus`, `--currency` of `baton work-pool create|update`. */
import type { Command } from "commander";
import { BatonError } from "../core/errors.ts";
import type { PoolPrices } from "../core/cost.ts";

export interface PriceOptions {
  costPerHour?: string;
  costPerCpuHour?: string;
  costPerGpuHour?: string;
  gpus?: string;
  currency?: string;
}

const FLAGS = { costPerHour: "--cost-per-hour", costPerCpuHour: "--cost-per-cpu-hour", costPerGpuHour: "--cost-per-gpu-hour", gpus: "--gpus", currency: "--currency" } as const;

/**
 * Adds the price flags to a command. `gpus: false` leaves `--gpus` to the command: `work-pool
 * create` has one flag for the GPUs a run holds, given to a docker pool's containers and priced.
 */
export function withPriceOptions(command: Command, { gpus = true }: { gpus?: boolean } = {}): Command {
  command
    .option(`${FLAGS.costPerHour} <price>`, "price per hour of a run's wall time (none: clear)")
    .option(`${FLAGS.costPerCpuHour} <price>`, "price per CPU hour (user + system) (none: clear)")
    .option(`${FLAGS.costPerGpuHour} <price>`, "price per GPU hour, times --gpus (none: clear)");
  if (gpus) command.option(`${FLAGS.gpus} <n>`, "GPUs each run of the pool holds (none: clear)");
  return command.option(`${FLAGS.currency} <code>`, "ISO 4217 currency of the prices, e.g. USD");
}

/** The prices given (left out: unchanged; "none": cleared); the error names the flag. */
export function pricesFromOptions(opts: PriceOptions): Partial<PoolPrices> {
  const prices: Partial<PoolPrices> = {};
  for (const field of ["costPerHour", "costPerCpuHour", "costPerGpuHour", "gpus"] as const) {
    const raw = opts[field];
    if (raw === undefined) continue;
    if (raw === "none") {
      prices[field] = null;
      continue;
    }
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value) || value < 0) throw new BatonError(`${FLAGS[field]} must be a number >= 0 (or none), got "${raw}"`);
    prices[field] = value;
  }
  if (opts.currency !== undefined) prices.currency = opts.currency === "none" ? null : opts.currency.toUpperCase();
  return prices;
}

/** The flag of a price field, for the service's messages. */
export const priceFlag = (field: string): string => FLAGS[field as keyof typeof FLAGS] ?? field;

/** "1.5 USD/h, 0.2 USD/CPU h, 2 × 3 USD/GPU h", or "-" for a pool without prices. */
export function describePrices(p: PoolPrices): string {
  const c = p.currency ? ` ${p.currency}` : "";
  const parts = [
    p.costPerHour != null ? `${p.costPerHour}${c}/h` : null,
    p.costPerCpuHour != null ? `${p.costPerCpuHour}${c}/CPU h` : null,
    p.costPerGpuHour != null ? `${p.gpus ?? 0} × ${p.costPerGpuHour}${c}/GPU h` : null,
  ].filter((s) => s !== null);
  return parts.length ? parts.join(", ") : "-";
}
