/**
 * `GET /api/stats`: the dashboard's overview of a window of hours, computed by the database over
 * every run of the window (see server/routes/stats.ts).
 */
import { z } from "zod";
import { WorkerStatusSchema } from "./worker.ts";

/** Runs the overview lists at most. */
export const STATS_LIST_LIMIT = 20;

const count = z.int();
const nullableMs = z.number().nullable();

/** A run named in a list of the overview. */
export const RunRefSchema = z.object({ id: z.string(), name: z.string(), flowName: z.string(), stateName: z.string(), at: nullableMs, message: z.string().nullable() });
export type RunRef = z.output<typeof RunRefSchema>;

export const StatsSchema = z.object({
  now: z.number(),
  since: z.number(),
  bucketMs: z.number(),
  runsByBucket: z.array(z.object({ bucket: count, stateType: z.string(), count })).describe("non-empty buckets only; bucket = index of the hour since `since`"),
  totals: z.object({ runs: count, failed: count, crashed: count, late: count, running: count }),
  flows: z.array(
    z.object({
      flowName: z.string(),
      runs: count,
      finished: count.describe("Completed, Failed or Crashed"),
      completed: count,
      successRate: z.number().nullable().describe("completed / finished, null when none finished"),
      p50Ms: nullableMs,
      p95Ms: nullableMs,
    }),
  ),
  late: z.array(RunRefSchema).describe(`at most ${STATS_LIST_LIMIT}, longest late first (at = when it was due)`),
  crashed: z.array(RunRefSchema).describe(`at most ${STATS_LIST_LIMIT}, newest first`),
  failures: z.array(RunRefSchema).describe("the 8 newest failed runs with their error"),
  workers: z.array(WorkerStatusSchema),
});
export type Stats = z.output<typeof StatsSchema>;

/** `GET /api/stats`: a window of whole hours, the current one last. */
export const StatsQuerySchema = z.strictObject({ hours: z.int().min(1).max(168).default(24) });
export type StatsQuery = z.output<typeof StatsQuerySchema>;
