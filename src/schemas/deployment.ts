/** Deployments: a flow's entrypoint with its schedules, defaults and where its runs go. */
import { z } from "zod";
import { epochMs, itemsOf, jsonObject, positiveIntOrNull, resourceName, tagsInput } from "./fields.ts";
import { JobVariablesSchema } from "./job-variables.ts";

export const CollisionStrategySchema = z.enum(["enqueue", "cancel-new"]);
export type CollisionStrategy = z.output<typeof CollisionStrategySchema>;

/** A compiled schedule (see core/schedule.ts): cron, interval or rrule. */
const ScheduleSpecSchema = z.looseObject({ kind: z.string() });

export const ScheduleSchema = z.object({
  id: z.string(),
  deploymentId: z.string(),
  spec: ScheduleSpecSchema,
  active: z.boolean(),
});
export type ScheduleRecord = z.output<typeof ScheduleSchema>;

export const DeploymentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    flowName: z.string(),
    entrypoint: z.string().describe("`path/to/module.ts:flowName`, relative to the project root (workers read it from their cwd), or absolute"),
    description: z.string().nullable(),
    version: z.string().nullable(),
    tags: z.array(z.string()),
    parameters: jsonObject.describe("defaults merged under each run's own parameters"),
    parameterSchema: jsonObject.nullable().describe("JSON Schema of the flow's parameters (from its zod schema), for validation and forms"),
    workPool: z.string().nullable(),
    workQueue: z.string(),
    paused: z.boolean(),
    concurrencyLimit: z.int().nullable().describe("at most this many of its runs Running at once"),
    collisionStrategy: CollisionStrategySchema,
    retries: z.int().describe("retries of a crashed or failed run, resumed durably by a worker"),
    retryDelayMs: z.int(),
    jobVariables: JobVariablesSchema.describe("how its runs' processes start (env, cwd), over the work pool's"),
    schedules: z.array(ScheduleSchema),
    createdAt: epochMs,
    updatedAt: epochMs,
  })
  .meta({ id: "Deployment" });
export type Deployment = z.output<typeof DeploymentSchema>;

/** A deployment as listed: with its next three scheduled times and its schedules described. */
export const DeploymentListSchema = itemsOf(DeploymentSchema.extend({ nextRuns: z.array(epochMs), scheduleText: z.array(z.string()) }));
export type DeploymentList = z.output<typeof DeploymentListSchema>;

/** A deployment has at most this many schedules. */
export const MAX_SCHEDULES = 20;

// Checked by core/schedule.ts's compileSchedule, whose messages name the schedule's field.
const scheduleSpecInput = jsonObject.describe("{ kind: cron, cron, timezone? }, { kind: interval, intervalMs, anchor? } or { kind: rrule, rrule, timezone? }");

/** A schedule as a client sends it: in a deployment's `schedules`, or to `POST|PUT /api/deployments/{name}/schedules[/{id}]`. */
export const ScheduleInputSchema = z.strictObject({
  spec: scheduleSpecInput,
  active: z.boolean().optional(),
});
export type ScheduleInput = z.output<typeof ScheduleInputSchema>;

/** `GET /api/deployments/{name}/schedules`: each schedule described, with its next slot times. */
export const ScheduleListSchema = itemsOf(
  ScheduleSchema.extend({
    description: z.string(),
    next: z.array(epochMs).describe("the spec's next five slot times within a year, whether or not the schedule is active"),
  }),
);
export type ScheduleList = z.output<typeof ScheduleListSchema>;

/** `POST /api/schedules/preview`: the next slot times of a spec, without storing anything. */
export const SchedulePreviewInputSchema = z.strictObject({
  spec: scheduleSpecInput,
  count: z.int().min(1).max(50).default(5).describe("how many slot times (default 5)"),
  after: epochMs.optional().describe("slots strictly after this time (default now)"),
});
export type SchedulePreviewInput = z.output<typeof SchedulePreviewInputSchema>;

export const SchedulePreviewSchema = z.object({
  spec: ScheduleSpecSchema.describe("the spec as it would be stored (normalised: a time zone, an anchor in epoch ms)"),
  description: z.string(),
  next: z.array(epochMs).describe("the next slot times within a year, soonest first"),
});
export type SchedulePreview = z.output<typeof SchedulePreviewSchema>;

/** `POST /api/deployments`: creates or updates a deployment (by name). */
export const DeploymentInputSchema = z.strictObject({
  name: resourceName,
  flowName: z.string().min(1).max(200),
  entrypoint: z.string().min(3).max(2000),
  description: z.string().max(10_000).nullable().optional(),
  version: z.string().max(100).nullable().optional(),
  tags: tagsInput.optional(),
  parameters: jsonObject.optional(),
  parameterSchema: jsonObject.nullable().optional(),
  workPool: resourceName.nullable().optional(),
  workQueue: resourceName.optional(),
  paused: z.boolean().optional(),
  concurrencyLimit: positiveIntOrNull.optional(),
  collisionStrategy: CollisionStrategySchema.optional(),
  retries: z.int().min(0).max(100).optional(),
  retryDelayMs: z.int().min(0).optional(),
  jobVariables: JobVariablesSchema.optional(),
  schedules: z
    .array(ScheduleInputSchema)
    .max(MAX_SCHEDULES)
    .describe("replaces the deployment's schedules")
    .optional(),
});
export type DeploymentInputBody = z.output<typeof DeploymentInputSchema>;
/** What a store upserts: the body with its schedules compiled (core/schedule.ts's compileSchedule). */
export type DeploymentInput = Omit<DeploymentInputBody, "schedules"> & { schedules?: { spec: ScheduleRecord["spec"]; active?: boolean }[] };

/**
 * `PATCH /api/deployments/{name}`: changes some of a deployment's own fields, leaving the rest
 * (what it runs, where, its schedules and job variables) as they are. What the dashboard's Edit
 * form sends.
 */
export const DeploymentPatchSchema = z.strictObject({
  description: z.string().max(10_000).nullable().optional(),
  tags: tagsInput.optional(),
  parameters: jsonObject.describe("the default parameters of its runs (checked against its parameter schema)").optional(),
  concurrencyLimit: positiveIntOrNull.optional(),
  collisionStrategy: CollisionStrategySchema.optional(),
  retries: z.int().min(0).max(100).optional(),
  retryDelayMs: z.int().min(0).max(86_400_000).optional(),
});
export type DeploymentPatch = z.output<typeof DeploymentPatchSchema>;

/** `POST /api/deployments/{name}/runs`: a run of the deployment, its parameters checked against its schema. */
export const DeploymentRunSchema = z.strictObject({
  name: z.string().min(1).max(200).describe("the run's name (default: a random one)").optional(),
  parameters: jsonObject.optional(),
  // Epoch ms as every time is: a fraction or 1e300 was stored, then failed the answer (a 500).
  scheduledAt: epochMs.optional(),
  workQueue: resourceName.describe("a queue of the deployment's work pool (default: the deployment's)").optional(),
  tags: z.array(z.string().max(100)).optional(),
  jobVariables: JobVariablesSchema.optional(),
});
export type DeploymentRun = z.output<typeof DeploymentRunSchema>;

/** Path parameters of one schedule of a deployment. */
export const ScheduleParamsSchema = z.object({ name: z.string().max(200), id: z.string().max(64) });
export type ScheduleParams = z.output<typeof ScheduleParamsSchema>;

