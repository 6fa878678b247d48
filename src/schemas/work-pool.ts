/** Work pools and their queues: where deployments' runs wait for a worker. */
import { z } from "zod";
import { ALLOW_ENV_ENTRY } from "../core/job-variables.ts";
import { epochMs, itemsOf, positiveIntOrNull, resourceName } from "./fields.ts";
import { JobVariablesSchema } from "./job-variables.ts";
import { PoolPricesInputSchema, PoolPricesSchema } from "./usage.ts";
import { WorkerSchema } from "./worker.ts";

export const WorkQueueSchema = z
  .object({
    poolName: z.string(),
    name: z.string(),
    priority: z.int().describe("1 is served first"),
    concurrencyLimit: z.int().nullable(),
    paused: z.boolean(),
  })
  .meta({ id: "WorkQueue" });
export type WorkQueue = z.output<typeof WorkQueueSchema>;

export const WorkPoolSchema = z
  .object({
    name: z.string(),
    type: z.string().describe('"process" or "docker": how a worker starts a run (see worker/infrastructure.ts)'),
    paused: z.boolean(),
    concurrencyLimit: z.int().nullable(),
    jobVariables: JobVariablesSchema.describe("defaults for how its runs' processes start (env, cwd)"),
    allowEnv: z
      .array(z.string())
      .describe("environment variables that change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…; see core/job-variables.ts) that its runs may set anyway: names or PREFIX_*"),
    createdAt: epochMs,
    ...PoolPricesSchema.shape,
    queues: z.array(WorkQueueSchema),
  })
  .meta({ id: "WorkPool" });
export type WorkPool = z.output<typeof WorkPoolSchema>;

/** A pool as the API answers it: with its workers. */
export const WorkPoolWithWorkersSchema = WorkPoolSchema.extend({ workers: z.array(WorkerSchema) });
export type WorkPoolWithWorkers = z.output<typeof WorkPoolWithWorkersSchema>;
export const WorkPoolListSchema = itemsOf(WorkPoolWithWorkersSchema);
export type WorkPoolList = z.output<typeof WorkPoolListSchema>;

/** `POST /api/work-pools`: creates or updates a pool. */
export const WorkPoolInputSchema = z.strictObject({
  name: resourceName,
  type: z.enum(["process", "docker"]).optional(),
  paused: z.boolean().optional(),
  concurrencyLimit: positiveIntOrNull.optional(),
  jobVariables: JobVariablesSchema.optional(),
  allowEnv: z
    .array(z.string().regex(ALLOW_ENV_ENTRY).max(200))
    .max(100)
    .describe("environment variables that change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…) its runs may set anyway: names or PREFIX_* patterns; replaces the pool's (default: kept, or none for a new pool)")
    .optional(),
  ...PoolPricesInputSchema.shape,
});
export type WorkPoolInputBody = z.output<typeof WorkPoolInputSchema>;
/** What a store upserts: any type name (the API takes only those its workers can start). */
export type WorkPoolInput = Omit<WorkPoolInputBody, "type"> & { type?: string };

/** `POST /api/work-pools/{name}/queues`: creates or updates a queue of the pool. */
export const WorkQueueInputSchema = z.strictObject({ name: resourceName, priority: z.int().min(1).optional(), concurrencyLimit: positiveIntOrNull.optional(), paused: z.boolean().optional() });
export type WorkQueueInput = z.output<typeof WorkQueueInputSchema>;

/** When the pool's next scheduled run is due (epoch ms), or null. */
export const NextDueSchema = z.object({ dueAt: epochMs.nullable() });
export type NextDue = z.output<typeof NextDueSchema>;

/** Path parameters of one queue of a pool. */
export const QueueParamsSchema = z.object({ name: z.string().min(1).max(200), queue: z.string().min(1).max(200) });
export type QueueParams = z.output<typeof QueueParamsSchema>;
