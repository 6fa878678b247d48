/** Task runs and the dependencies between them. */
import { z } from "zod";
import { ErrorInfoSchema } from "./error.ts";
import { epochMs, int32 } from "./fields.ts";
import { StateSchema } from "./state.ts";
import { RunResourcesSchema } from "./usage.ts";

export const TaskRunSchema = z
  .object({
    id: z.string(),
    flowRunId: z.string(),
    taskKey: z.string().describe("stable inside the flow run: task name plus call index, or the task's `key` option"),
    taskName: z.string(),
    state: StateSchema,
    runCount: int32.describe("total attempts made, over all resumes"),
    cacheKey: z.string().nullable(),
    resultId: z.string().nullable(),
    error: ErrorInfoSchema.nullable(),
    tags: z.array(z.string()),
    createdAt: epochMs,
    startTime: epochMs.nullable(),
    endTime: epochMs.nullable(),
    resources: RunResourcesSchema.nullable().optional().describe("what its attempts used, recorded with its final state"),
  })
  .meta({ id: "TaskRun" });
export type TaskRun = z.output<typeof TaskRunSchema>;

export const TaskDependencySchema = z
  .strictObject({
    taskRunId: z.string(),
    upstreamTaskRunId: z.string(),
    kind: z.enum(["data", "wait"]).describe('"data": the upstream\'s result is an argument; "wait": ordered only (waitFor)'),
  })
  .meta({ id: "TaskDependency" });
export type TaskDependency = z.output<typeof TaskDependencySchema>;

/** `GET /api/flow-runs/{id}/task-runs`. */
export const TaskRunListSchema = z.object({ items: z.array(TaskRunSchema), dependencies: z.array(TaskDependencySchema) });
export type TaskRunList = z.output<typeof TaskRunListSchema>;

/** `GET /api/task-runs?idPrefix=`: task runs of any flow run named by the start of their id. */
export const TaskRunSearchSchema = z.strictObject({
  idPrefix: z.string().regex(/^[0-9a-fA-F-]{4,36}$/, "must be 4 to 36 hex digits and dashes").describe("task runs whose id starts with this"),
  limit: z.coerce.number().int().min(1).max(100).default(10).describe("at most this many (default 10)"),
});
export type TaskRunSearch = z.output<typeof TaskRunSearchSchema>;

/** The answer of `GET /api/task-runs`. */
export const TaskRunPageSchema = z.object({ items: z.array(TaskRunSchema) });
export type TaskRunPage = z.output<typeof TaskRunPageSchema>;
