/**
 * The batch endpoint: a running flow (remote mode) reports many task-run transitions, results,
 * dependencies, cache entries and logs in one request, applied in one transaction. Every
 * task-run transition is checked against the orchestration rules from the state stored (or
 * reported earlier in the same batch); one invalid transition refuses the whole batch.
 */
import type { FastifyInstance } from "fastify";
import { STATE_NAMES, STATE_TYPES } from "../../core/states.ts";
import type { RunStore, Store, WriteOp } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { BatchChecker } from "../batch-checker.ts";
import { classifyDatabaseError } from "../../store/db-errors.ts";
import { errorResponses, int32, logLevel, ms, uuid } from "../schemas.ts";
import { ADMIN_AND_WORKER } from "../access.ts";
import { flowRunsOf } from "../../engine/write-batcher.ts";
import type { WorkerRuns } from "../worker-runs.ts";

const nullableMs = { anyOf: [ms, { type: "null" }] } as const;
const nullableString = { anyOf: [{ type: "string" }, { type: "null" }] } as const;
const stateFields = {
  type: { type: "string", enum: STATE_TYPES },
  name: { type: "string", enum: STATE_NAMES },
  timestamp: ms,
  message: nullableString,
  scheduledAt: nullableMs,
} as const;

const opSchema = {
  type: "object",
  required: ["kind"],
  discriminator: { propertyName: "kind" },
  oneOf: [
    {
      properties: {
        kind: { const: "taskRun" },
        force: { type: "boolean" },
        emitEvents: { type: "boolean" },
        taskRun: {
          type: "object",
          properties: {
            id: uuid,
            flowRunId: uuid,
            taskKey: { type: "string", minLength: 1, maxLength: 500 },
            taskName: { type: "string", minLength: 1, maxLength: 200 },
            state: { $ref: "State#" },
            runCount: int32,
            cacheKey: nullableString,
            resultId: { anyOf: [uuid, { type: "null" }] },
            error: { anyOf: [{ $ref: "ErrorInfo#" }, { type: "null" }] },
            tags: { type: "array", items: { type: "string" } },
            createdAt: ms,
            startTime: nullableMs,
            endTime: nullableMs,
          },
          required: ["id", "flowRunId", "taskKey", "taskName", "state", "runCount", "tags", "createdAt"],
          additionalProperties: false,
        },
      },
      required: ["taskRun"],
      additionalProperties: false,
    },
    {
      properties: {
        kind: { const: "state" },
        state: {
          type: "object",
          properties: { ...stateFields, flowRunId: uuid, taskRunId: { anyOf: [uuid, { type: "null" }] } },
          required: ["type", "name", "timestamp", "flowRunId"],
          additionalProperties: false,
        },
      },
      required: ["state"],
      additionalProperties: false,
    },
    {
      properties: { kind: { const: "dependency" }, dependency: { $ref: "TaskDependency#" } },
      required: ["dependency"],
      additionalProperties: false,
    },
    {
      properties: {
        kind: { const: "result" },
        result: {
          type: "object",
          properties: {
            id: uuid,
            serializer: { type: "string" },
            value: { type: "string", description: "the serialised result: results sent to the API travel inline" },
            // Where a result is stored is the server's choice, never a client's: a path chosen
            // by a client would be read back on resume (see engine/result-store.ts).
            path: { type: "null", description: "always null: the server chooses where results are stored" },
            size: int32,
            createdAt: ms,
          },
          required: ["id", "serializer", "value", "size", "createdAt"],
          additionalProperties: false,
        },
      },
      required: ["result"],
      additionalProperties: false,
    },
    {
      properties: {
        kind: { const: "cache" },
        entry: {
          type: "object",
          properties: { cacheKey: { type: "string", maxLength: 1000 }, resultId: uuid, taskRunId: uuid, expiresAt: nullableMs, createdAt: ms },
          required: ["cacheKey", "resultId", "taskRunId", "createdAt"],
          additionalProperties: false,
        },
      },
      required: ["entry"],
      additionalProperties: false,
    },
    {
      properties: { kind: { const: "event" }, event: { $ref: "NewEvent#" }, flowRunId: uuid },
      required: ["event", "flowRunId"],
      additionalProperties: false,
    },
    {
      properties: {
        kind: { const: "log" },
        log: {
          type: "object",
          properties: {
            flowRunId: uuid,
            taskRunId: { anyOf: [uuid, { type: "null" }] },
            level: logLevel,
            message: { type: "string", maxLength: 100_000 },
            timestamp: ms,
            extra: { anyOf: [{ type: "object" }, { type: "null" }] },
          },
          required: ["flowRunId", "level", "message", "timestamp"],
          additionalProperties: false,
        },
      },
      required: ["log"],
      additionalProperties: false,
    },
  ],
} as const;

export function batchRoutes(app: FastifyInstance, store: Store, checker: BatchChecker, workerRuns: WorkerRuns): void {
  app.post<{ Body: { batchId?: string; ops: WriteOp[] } }>(
    "/api/batch",
    {
      config: {
        access: {
          roles: ADMIN_AND_WORKER,
          // The flow runs the ops name; those of the task runs a dependency or cache entry
          // names are known once the checker has found them (below).
          workerRuns: (request) => [...flowRunsOf((request.body as { ops: WriteOp[] }).ops)].map((id) => ({ field: "body.ops", id })),
        },
      },
      schema: {
        tags: ["batch"],
        summary: "Apply many task-run transitions, results and logs in one transaction",
        body: {
          type: "object",
          properties: {
            batchId: { ...uuid, description: "idempotency key: a batch sent again under the same id is applied once" },
            ops: { type: "array", maxItems: 100_000, items: opSchema },
          },
          required: ["ops"],
          additionalProperties: false,
        },
        response: { 200: { type: "object", properties: { applied: { type: "integer" }, duplicate: { type: "boolean" } } }, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const { ops, batchId } = request.body;
      let written: Set<string>;
      try {
        written = await checker.check(ops, request.apiKeyRole);
      } catch (error) {
        // A batch sent again after a lost response fails the transition check (its states are
        // already stored): it is a duplicate, not an error.
        if (batchId && error instanceof ApiError && error.statusCode === 409 && (await store.batchApplied(batchId))) return { applied: 0, duplicate: true };
        throw error;
      }
      if (request.apiKeyRole === "worker") await workerRuns.require([...written].map((id) => ({ field: "body.ops", id })));
      let applied: boolean;
      try {
        applied = await store.applyWrites(ops, { batchId });
      } catch (error) {
        throw await explainConflict(store, ops, error);
      }
      if (applied) checker.applied(ops);
      return { applied: applied ? ops.length : 0, duplicate: !applied };
    },
  );
}

/**
 * A batch refused by a unique key: which task run took a key that another one holds. The
 * database only says that a key is taken (SQLite not even which), so the ops are compared with
 * the task runs stored and with each other.
 */
async function explainConflict(store: RunStore, ops: WriteOp[], error: unknown): Promise<unknown> {
  const classified = classifyDatabaseError(error);
  if (classified?.kind !== "duplicate") return error;
  const runs = ops.flatMap((op) => (op.kind === "taskRun" ? [op.taskRun] : []));
  const holders = new Map<string, string>();
  for (const flowRunId of new Set(runs.map((r) => r.flowRunId)))
    for (const stored of await store.listTaskRuns(flowRunId)) holders.set(`${flowRunId}\u0000${stored.taskKey}`, stored.id);
  for (const run of runs) {
    const key = `${run.flowRunId}\u0000${run.taskKey}`;
    const holder = holders.get(key);
    if (holder && holder !== run.id)
      return new ApiError(409, "CONFLICT", `task run ${run.id}: flow run ${run.flowRunId} already has task run ${holder} with task key "${excerpt(run.taskKey)}"; task keys are unique within a flow run`, {
        taskRunId: run.id,
        existingTaskRunId: holder,
        taskKey: run.taskKey,
      });
    holders.set(key, run.id);
  }
  return error;
}
