/**
 * The batch endpoint: a running flow (remote mode) reports many task-run transitions, results,
 * dependencies, cache entries and logs in one request, applied in one transaction. Every
 * task-run transition is checked against the orchestration rules from the state stored (or
 * reported earlier in the same batch); one invalid transition refuses the whole batch.
 */
import type { FastifyInstance } from "fastify";
import type { RunStore, Store, WriteOp } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { BatchChecker } from "../batch-checker.ts";
import { classifyDatabaseError } from "../../store/db-errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { BatchAnswerSchema, BatchSchema, type Batch, type BatchAnswer } from "../../schemas/batch.ts";
import { flowRunsOf } from "../../engine/write-batcher.ts";
import type { WorkerRuns } from "../worker-runs.ts";

export function batchRoutes(app: FastifyInstance, store: Store, checker: BatchChecker, workerRuns: WorkerRuns): void {
  app.post<{ Body: Batch; Reply: BatchAnswer }>(
    "/api/batch",
    {
      config: {
        access: {
          // The flow runs the ops name; those of the task runs a dependency or cache entry
          // names are known once the checker has found them (below).
          workerRuns: (request) => [...flowRunsOf((request.body as Batch).ops)].map((id) => ({ field: "body.ops", id })),
        },
      },
      schema: {
        tags: ["batch"],
        summary: "Apply many task-run transitions, results and logs in one transaction",
        body: jsonSchema(BatchSchema),
        response: { 200: jsonSchema(BatchAnswerSchema), ...errorResponses(400, 403, 404, 409) },
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
