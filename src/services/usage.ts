/**
 * The usage report (`GET /api/usage`, `baton usage`, the dashboard's Usage page): flow runs that
 * ended in a window, per UTC day and per group (flow, deployment, pool or tag), with their
 * final states, compute hours, estimated cost at their pools' prices (core/cost.ts), waste and
 * failFast's savings. The database sums (store/usage-queries.ts); this prices and shapes.
 *
 * - Compute: a flow run's wall and CPU time (its process's: its tasks' on the event loop and
 *   on threads included).
 * - Waste: the compute of Failed and Crashed runs, plus, in the other runs, the attempts that
 *   failed and were retried (the flow's own, and its task runs').
 * - Saved by failFast (an estimate): for each task run failFast cancelled, the mean wall time
 *   of the Completed runs of the same flow and task key in the window, less what it ran.
 */
import { estimateRunCost, NO_CURRENCY, type PoolPrices } from "../core/cost.ts";
import { parseDuration } from "../core/durations.ts";
import type { UsageGroup, UsageReport, UsageTotals } from "../schemas/usage.ts";
import type { UsageRows, UsageWindow } from "../store/usage-queries.ts";
import { ServiceError } from "./errors.ts";

/** What the report reads: the sums of a window, and the pools' prices. */
export interface UsageSource {
  readUsage(window: UsageWindow): Promise<UsageRows>;
}

/** A `since` that is neither a duration nor an ISO date. */
export class InvalidUsageQueryError extends ServiceError {
  override name = "InvalidUsageQueryError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The longest window: a year of days keeps the answer (and the sums) small. */
const MAX_WINDOW_MS = 366 * DAY_MS;

/** `since` as epoch ms: a duration back from `now` (7d, 24h) or an ISO date or date-time. */
export function parseSince(text: string, now: number, field = "since"): number {
  const trimmed = text.trim();
  let since: number;
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    since = Date.parse(trimmed);
    if (Number.isNaN(since)) throw new InvalidUsageQueryError(`${field} must be a duration (7d, 24h) or an ISO date such as 2026-12-01, got ${JSON.stringify(text)}`);
  } else {
    try {
      since = now - parseDuration(trimmed, field);
    } catch (error) {
      throw new InvalidUsageQueryError(`${(error as Error).message}, or an ISO date such as 2026-12-01`);
    }
  }
  if (since > now) throw new InvalidUsageQueryError(`${field} must be in the past, got ${new Date(since).toISOString()}`);
  if (now - since > MAX_WINDOW_MS) throw new InvalidUsageQueryError(`${field} must be at most 366 days back, got ${new Date(since).toISOString()}`);
  return since;
}

const empty = (): UsageTotals => ({
  runs: 0,
  byState: {},
  wallHours: 0,
  cpuHours: 0,
  cost: {},
  wastedWallHours: 0,
  wastedCpuHours: 0,
  wastedCost: {},
  failFastCancelled: 0,
  savedWallHoursEstimate: 0,
});

const addTo = (costs: Record<string, number>, currency: string, amount: number): void => {
  costs[currency] = (costs[currency] ?? 0) + amount;
};

/** The report of runs that ended between `since` and `now`. `prices`: each pool's, by name. */
export async function usageReport(source: UsageSource, query: { since: number; until: number; groupBy: UsageGroup }, prices: ReadonlyMap<string, PoolPrices>): Promise<UsageReport> {
  const grouped = await source.readUsage(query);
  // Under tags a run counts in each of its tags' groups: the days and the total count it once.
  const whole = query.groupBy === "tag" ? await source.readUsage({ ...query, groupBy: "none" }) : grouped;

  const charge = (totals: UsageTotals, pool: string | null, wallMs: number, cpuMs: number, wasted: boolean): void => {
    const p = pool ? prices.get(pool) : undefined;
    if (!p || (p.costPerHour == null && p.costPerCpuHour == null && p.costPerGpuHour == null)) return;
    addTo(wasted ? totals.wastedCost : totals.cost, p.currency ?? NO_CURRENCY, estimateRunCost({ wallMs, cpuMs }, p));
  };

  /** Adds the rows to the totals of `keyOf(row)`. */
  const fold = (rows: UsageRows, keyOf: (row: { day: number; group: string | null }) => string, into: Map<string, UsageTotals>): void => {
    const at = (row: { day: number; group: string | null }): UsageTotals => {
      const key = keyOf(row);
      let totals = into.get(key);
      if (!totals) into.set(key, (totals = empty()));
      return totals;
    };
    for (const r of rows.runs) {
      const t = at(r);
      t.runs += r.runs;
      t.byState[r.stateName] = (t.byState[r.stateName] ?? 0) + r.runs;
      t.wallHours += r.wallMs / HOUR_MS;
      t.cpuHours += r.cpuMs / HOUR_MS;
      charge(t, r.pool, r.wallMs, r.cpuMs, false);
      const failed = r.stateType === "FAILED" || r.stateType === "CRASHED";
      const wastedWall = failed ? r.wallMs : r.retriedWallMs;
      const wastedCpu = failed ? r.cpuMs : r.retriedCpuMs;
      t.wastedWallHours += wastedWall / HOUR_MS;
      t.wastedCpuHours += wastedCpu / HOUR_MS;
      charge(t, r.pool, wastedWall, wastedCpu, true);
    }
    for (const r of rows.retries) {
      const t = at(r);
      t.wastedWallHours += r.retriedWallMs / HOUR_MS;
      t.wastedCpuHours += r.retriedCpuMs / HOUR_MS;
      charge(t, r.pool, r.retriedWallMs, r.retriedCpuMs, true);
    }
    for (const r of rows.saved) {
      const t = at(r);
      t.failFastCancelled += r.cancelled;
      t.savedWallHoursEstimate += r.savedWallMs / HOUR_MS;
    }
  };

  const days = new Map<string, UsageTotals>();
  const groups = new Map<string, UsageTotals>();
  const total = new Map<string, UsageTotals>();
  fold(whole, (r) => new Date(r.day * DAY_MS).toISOString().slice(0, 10), days);
  fold(whole, () => "all", total);
  // JSON keys: a group without a name (a run without a deployment, pool or tag) is kept apart from any name.
  fold(grouped, (r) => JSON.stringify(r.group), groups);

  return {
    groupBy: query.groupBy,
    since: query.since,
    until: query.until,
    days: [...days].sort(([a], [b]) => a.localeCompare(b)).map(([day, t]) => ({ day, ...t })),
    groups: [...groups]
      .map(([key, t]) => ({ key: JSON.parse(key) as string | null, ...t }))
      .sort((a, b) => b.wallHours - a.wallHours || String(a.key).localeCompare(String(b.key))),
    total: total.get("all") ?? empty(),
  };
}

/** Each pool's prices by name, from the pools as a store lists them. */
export function pricesByPool(pools: readonly (PoolPrices & { name: string })[]): Map<string, PoolPrices> {
  return new Map(pools.map((p) => [p.name, { costPerHour: p.costPerHour, costPerCpuHour: p.costPerCpuHour, costPerGpuHour: p.costPerGpuHour, gpus: p.gpus, currency: p.currency }]));
}
