/**
 * Resource accounting and cost: what a run used (`RunResources`, on flow runs and task runs), a
 * work pool's prices, and `GET /api/usage`'s query and answer.
 */
import { z } from "zod";
import type { PoolPrices } from "../core/cost.ts";
import type { RunResources } from "../core/resources.ts";
import { epochMs } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

const ms = z.int().min(0);

/** core/resources.ts's `RunResources` (the compiler checks that the two agree). */
export const RunResourcesSchema = z
  .object({
    wallMs: ms.describe("time spent running its attempts (ms)"),
    cpuUserMs: ms.nullable().describe("user CPU time (ms); a task on the event loop: the process's while its synchronous part ran"),
    cpuSystemMs: ms.nullable().describe("system CPU time (ms)"),
    peakMemoryBytes: ms.nullable().describe("peak resident memory of the process (threads share it): see docs/usage.md"),
    retriedWallMs: ms.describe("wall time of attempts that failed and were retried (ms)"),
    retriedCpuMs: ms.describe("CPU time of attempts that failed and were retried (ms)"),
  })
  .meta({ id: "RunResources" });
export const RUN_RESOURCES_MATCH_CORE: Equal<z.output<typeof RunResourcesSchema>, RunResources> = true;

const price = z.number().min(0).max(1e9).nullable();

/** A work pool's prices as the API answers them (all null: the pool charges nothing). */
export const PoolPricesSchema = z.object({
  costPerHour: price.describe("per hour of a run's wall time"),
  costPerCpuHour: price.describe("per CPU hour (user + system)"),
  costPerGpuHour: price.describe("per GPU hour: wall hours × gpus × this"),
  gpus: price.describe("GPUs each run of the pool holds"),
  currency: z.string().nullable().describe("ISO 4217 code, e.g. USD"),
});
export const POOL_PRICES_MATCH_CORE: Equal<z.output<typeof PoolPricesSchema>, PoolPrices> = true;

/** What a pool's create/update takes: each price non-negative, or null to clear it. */
export const PoolPricesInputSchema = z.object({
  costPerHour: price.optional(),
  costPerCpuHour: price.optional(),
  costPerGpuHour: price.optional(),
  gpus: price.optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be a 3-letter ISO 4217 code in capitals, e.g. USD")
    .nullable()
    .optional(),
});

export const USAGE_GROUPS = ["flow", "deployment", "pool", "tag"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** `GET /api/usage`. */
export const UsageQuerySchema = z.strictObject({
  group_by: z.enum(USAGE_GROUPS).default("flow").describe("flow | deployment | pool | tag (a run counts under each of its tags)"),
  since: z
    .string()
    .max(40)
    .default("7d")
    .describe("runs that ended since: a duration back from now (7d, 24h, 90m) or an ISO date/time"),
});
export type UsageQuery = z.output<typeof UsageQuerySchema>;

/** Totals of a set of runs (a day, a group, all). Hours are compute hours; costs by currency. */
export const UsageTotalsSchema = z.object({
  runs: z.int().describe("flow runs that ended"),
  byState: z.record(z.string(), z.int()).describe("those runs by final state name"),
  wallHours: z.number().describe("the runs' wall time, in hours"),
  cpuHours: z.number().describe("the runs' CPU time (user + system), in hours"),
  cost: z.record(z.string(), z.number()).describe("estimated cost by currency (runs of pools with prices)"),
  wastedWallHours: z.number().describe("wall hours of Failed and Crashed runs, and of attempts that failed and were retried"),
  wastedCpuHours: z.number().describe("CPU hours of the same"),
  wastedCost: z.record(z.string(), z.number()).describe("estimated cost of that waste by currency"),
  failFastCancelled: z.int().describe("task runs cancelled by failFast"),
  savedWallHoursEstimate: z
    .number()
    .describe("ESTIMATE: wall hours failFast's cancelled task runs did not spend (mean wall of Completed runs of the same flow and task key, less what they ran)"),
});
export type UsageTotals = z.output<typeof UsageTotalsSchema>;

export const UsageReportSchema = z.object({
  groupBy: z.enum(USAGE_GROUPS),
  since: epochMs,
  until: epochMs,
  days: z.array(UsageTotalsSchema.extend({ day: z.string().describe("UTC day, YYYY-MM-DD") })),
  groups: z.array(UsageTotalsSchema.extend({ key: z.string().nullable().describe("the flow, deployment, pool or tag; null: runs without one") })),
  total: UsageTotalsSchema,
});
export type UsageReport = z.output<typeof UsageReportSchema>;
