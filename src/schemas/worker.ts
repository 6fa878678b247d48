/** Workers: processes that claim a pool's due runs and start them. */
import { z } from "zod";
import { apiId, epochMs, itemsOf, positiveIntOrNull } from "./fields.ts";
import { FlowRunSchema } from "./flow-run.ts";
import { JobVariablesSchema } from "./job-variables.ts";

export const WorkerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    poolName: z.string(),
    runLimit: z.int().nullable(),
    heartbeatAt: epochMs,
    heartbeatMs: z.int().nullable().describe("the worker's heartbeat interval: three missed beats and its runs are Crashed"),
    createdAt: epochMs,
  })
  .meta({ id: "Worker" });
export type WorkerRecord = z.output<typeof WorkerSchema>;

/** `POST /api/work-pools/{name}/workers`: what a worker registers with. */
export const WorkerRegistrationSchema = z.strictObject({
  id: apiId,
  name: z.string().min(1).max(200),
  runLimit: positiveIntOrNull.default(null),
  heartbeatMs: positiveIntOrNull.optional(),
});
export type WorkerRegistrationInput = z.output<typeof WorkerRegistrationSchema>;
/** What a store registers: the body and the worker's pool (from the path). */
export type WorkerRegistration = WorkerRegistrationInput & { poolName: string };

/** A worker with its status, decided on the server's clock (online while its last heartbeat is younger than three intervals). */
export const WorkerStatusSchema = z.object({
  id: z.string(),
  name: z.string(),
  poolName: z.string(),
  runLimit: z.int().nullable().optional(),
  heartbeatAt: z.number(),
  heartbeatMs: z.number(),
  ageMs: z.number(),
  status: z.enum(["online", "offline"]),
});
export type WorkerStatus = z.output<typeof WorkerStatusSchema>;
export const WorkerStatusListSchema = z.object({ now: z.number(), items: z.array(WorkerStatusSchema) });
export type WorkerStatusList = z.output<typeof WorkerStatusListSchema>;

/** `POST /api/work-pools/{name}/claim`. */
export const ClaimSchema = z.strictObject({ workerId: apiId, max: z.int().min(1).max(100), waitMs: z.int().min(0).max(25_000).optional() });
export type Claim = z.output<typeof ClaimSchema>;

/** A run handed to a worker, with the job variables to start it with (pool ← deployment ← run). */
export const ClaimedFlowRunSchema = FlowRunSchema.extend({ jobVariables: JobVariablesSchema });
export type ClaimedFlowRun = z.output<typeof ClaimedFlowRunSchema>;
export const ClaimAnswerSchema = itemsOf(ClaimedFlowRunSchema);
export type ClaimAnswer = z.output<typeof ClaimAnswerSchema>;

/** `GET /api/workers/{id}`: a worker as registered, with its status on the server's clock. */
export const WorkerDetailSchema = WorkerSchema.extend({
  status: WorkerStatusSchema.shape.status,
  ageMs: z.number().describe("since its last heartbeat"),
  intervalMs: z.int().describe("the heartbeat interval in force: the worker's own, or the default"),
  now: epochMs.describe("the server's clock"),
});
export type WorkerDetail = z.output<typeof WorkerDetailSchema>;
