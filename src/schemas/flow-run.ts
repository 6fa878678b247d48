/** Flow runs: the record, what creating, listing and moving one takes, and what it answers. */
import { z } from "zod";
import { ErrorInfoSchema } from "./error.ts";
import { apiId, epochMs, int32, jsonObject, pageOf, tagsInput } from "./fields.ts";
import { JobVariablesSchema } from "./job-variables.ts";
import { ProposedStateSchema, StateSchema, StateTypeSchema } from "./state.ts";
import { RunResourcesSchema } from "./usage.ts";

export const FlowRunSchema = z
  .object({
    id: z.string(),
    flowId: z.string(),
    flowName: z.string(),
    name: z.string(),
    parentFlowRunId: z.string().nullable(),
    parentTaskRunId: z.string().nullable(),
    state: StateSchema,
    parameters: jsonObject.describe("the run's parameters by name (JSON)"),
    tags: z.array(z.string()),
    runCount: int32.describe("attempts made: every start counts (1 on the first run; each flow retry and each resume adds one)"),
    createdAt: epochMs,
    startTime: epochMs.nullable(),
    endTime: epochMs.nullable(),
    heartbeatAt: epochMs.nullable(),
    heartbeatMs: int32.nullable().describe("the heartbeat interval of the process running it; missing 3 beats means Crashed"),
    resultId: z.string().nullable(),
    error: ErrorInfoSchema.nullable(),
    version: z.string().nullable(),
    entrypoint: z.string().nullable().describe("`/path/to/module.ts:flowName`: where the flow's code lives, for resuming it by id"),
    deploymentId: z.string().nullable(),
    workPool: z.string().nullable(),
    workQueue: z.string().nullable(),
    workerId: z.string().nullable(),
    expectedStartTime: epochMs.nullable().describe("the schedule slot this run was created for"),
    retriesUsed: int32.describe("deployment retries used: each crash or failure that scheduled a retry (a start failure too)"),
    resources: RunResourcesSchema.nullable().optional().describe("what its process used, recorded with its final state (null before, and for a run whose process died)"),
  })
  .meta({ id: "FlowRun" });
export type FlowRun = z.output<typeof FlowRunSchema>;

/** `POST /api/flow-runs`: a run starts Scheduled (with `scheduledAt`) or Pending. */
export const FlowRunCreateSchema = z.strictObject({
  flowName: z.string().min(1).max(200),
  id: apiId.optional(),
  name: z.string().min(1).max(200).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  tags: tagsInput.optional(),
  state: z.enum(["Scheduled", "Pending"]).optional(),
  message: z.string().max(10_000).nullable().optional().describe("the first state's message: who made the run, or why"),
  scheduledAt: epochMs.optional(),
  parentFlowRunId: apiId.nullable().optional(),
  parentTaskRunId: apiId.nullable().optional(),
  version: z.string().max(100).nullable().optional(),
  entrypoint: z.string().max(2000).nullable().optional(),
  deploymentId: apiId.nullable().optional(),
  workPool: z.string().max(200).nullable().optional(),
  workQueue: z.string().max(200).nullable().optional(),
  jobVariables: JobVariablesSchema.nullable().optional(),
});
export type FlowRunCreate = z.output<typeof FlowRunCreateSchema>;

const csv = z.string().max(2000);

/** `GET /api/flow-runs`: filters, newest first, a page at a time. */
export const FlowRunQuerySchema = z.strictObject({
  flow: z.string().max(200).optional(),
  flowPrefix: z.string().max(200).describe("flow names starting with this, ignoring case").optional(),
  idPrefix: z.string().regex(/^[0-9a-fA-F-]{1,36}$/).describe("runs whose id starts with this").optional(),
  name: z.string().max(200).describe("runs of this name").optional(),
  state: csv.describe("state names, comma-separated").optional(),
  stateType: csv.describe("state types, comma-separated").optional(),
  tag: csv.describe("tags the runs must all carry, comma-separated").optional(),
  since: epochMs.describe("created at or after (epoch ms)").optional(),
  until: epochMs.describe("created before (epoch ms)").optional(),
  parent: apiId.optional(),
  deployment: apiId.describe("deployment id").optional(),
  worker: apiId.describe("the id of the worker that claimed them").optional(),
  limit: z.int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type FlowRunQuery = z.output<typeof FlowRunQuerySchema>;

export const FlowRunPageSchema = pageOf(FlowRunSchema);
export type FlowRunPage = z.output<typeof FlowRunPageSchema>;

/** `POST /api/flow-runs/{id}/set-state`: a proposed state and the fields that go with it. */
export const SetFlowRunStateSchema = z.strictObject({
  state: ProposedStateSchema,
  force: z.boolean().optional(),
  resultId: apiId.nullable().optional(),
  error: ErrorInfoSchema.nullable().optional(),
  runCount: int32.optional(),
  heartbeatMs: int32.min(1).optional(),
  resources: RunResourcesSchema.optional().describe("with a final state: what the run's process used"),
  expect: z
    .strictObject({ workerId: apiId.optional(), stateTimestamp: epochMs.optional() })
    .describe("compare-and-set: refused (409, rule RunChangedSinceRead) unless the run is still held by this worker / in the state of this timestamp")
    .optional(),
});
export type SetFlowRunState = z.output<typeof SetFlowRunStateSchema>;

/**
 * The details of a refused transition (409 INVALID_TRANSITION): the rule that refused it, its
 * decision, and the run as it is now.
 */
export const TransitionRefusalSchema = z.object({
  runId: z.string(),
  rule: z.string(),
  decision: z.enum(["reject", "abort", "wait"]),
  delayMs: z.number().nullable().optional(),
  run: FlowRunSchema,
});

/** `POST /api/flow-runs/{id}/heartbeat`: the answer says the run's state type, so a runner sees a cancel. */
export const HeartbeatSchema = z.strictObject({ at: epochMs.describe("ignored: the server records its own clock").optional() });
export type Heartbeat = z.output<typeof HeartbeatSchema>;
export const HeartbeatAnswerSchema = z.object({ stateType: StateTypeSchema });
export type HeartbeatAnswer = z.output<typeof HeartbeatAnswerSchema>;

/** `POST /api/flow-runs/crash-stale`: marks Crashed the running flow runs that missed three heartbeats. */
export const CrashStaleSchema = z.strictObject({ onlyId: apiId.optional() });
export type CrashStale = z.output<typeof CrashStaleSchema>;
export const CrashStaleAnswerSchema = z.object({ crashed: z.array(z.string()) });
export type CrashStaleAnswer = z.output<typeof CrashStaleAnswerSchema>;

/** `POST /api/flow-runs/{id}/rerun`: the new run, and the asset versions it reads (those its source read). */
export const FlowRunRerunSchema = z.object({
  run: FlowRunSchema,
  pinned: z.array(z.object({ key: z.string(), version: z.string() })).describe("per asset, the version the source read last: the re-run's task runs read it"),
});
export type FlowRunRerun = z.output<typeof FlowRunRerunSchema>;
