/**
 * Checks a write batch (POST /api/batch) before it is applied, so that a batch either makes
 * sense as a whole or writes nothing:
 *   - every flow run it names exists (404);
 *   - every task-run transition is accepted by the orchestration rules, from the state stored
 *     or reported earlier in the batch (409); `force` needs an admin key (403), except the one
 *     forced transition the engine makes itself: re-running a Completed task run whose result
 *     was not persisted;
 *   - every reference — a log's or cache entry's task run, both ends of a dependency, a result
 *     id — points at something in the batch or stored (404 naming the field), of the same flow
 *     run (409);
 *   - every history row (a `state` op) records a transition of a task run of the same flow run,
 *     made in this batch or the one stored (400/409): the history cannot be forged.
 * It remembers what it let through (flow runs, task runs with their flow run, last state and
 * result, result ids), so a running flow's batches are checked without a query; memory only
 * speeds acceptance: a transition refused against it is decided again against the database
 * (another server may have applied later states).
 */
import { decideTransition } from "../core/transitions.ts";
import { STATE_NAME_TYPE, type State } from "../core/states.ts";
import { excerpt } from "../core/excerpt.ts";
import { flowRunsOf } from "../engine/write-batcher.ts";
import type { RunStore, TaskRun, WriteOp } from "../store/types.ts";
import { ApiError, notFound } from "./errors.ts";
import { userEventNameProblem } from "../core/event-input.ts";
import { FLOW_RUN_SOURCE_EVENT } from "../core/source-events.ts";
import type { CallerRole } from "./api-keys.ts";

interface KnownTaskRun {
  flowRunId: string;
  state: State;
  resultId: string | null;
}

export class BatchChecker {
  private readonly flowRuns = new Set<string>();
  private readonly taskRuns = new Map<string, KnownTaskRun>();
  private readonly results = new Set<string>();

  constructor(
    private readonly store: RunStore,
    private readonly capacity = 100_000,
  ) {}

  forgetFlowRun(id: string): void {
    this.flowRuns.delete(id);
  }

  /** A flow run created through this server exists: its first batch needs no lookup. */
  flowRunCreated(id: string): void {
    this.remember(this.flowRuns, id);
  }

  /** Whether a batch of this server stored the result (results are never deleted). */
  knowsResult(id: string): boolean {
    return this.results.has(id);
  }

  /**
   * Resolves, when the batch may be applied, with the flow runs it writes to: those its ops name,
   * and those of the task runs its dependencies and cache entries are about.
   */
  async check(ops: WriteOp[], role: CallerRole = "admin"): Promise<Set<string>> {
    await this.checkFlowRuns(ops);
    const written = flowRunsOf(ops);
    const inBatch = new Map<string, TaskRun[]>();
    const batchResults = new Set<string>();
    for (const op of ops) {
      if (op.kind === "taskRun") inBatch.set(op.taskRun.id, [...(inBatch.get(op.taskRun.id) ?? []), op.taskRun]);
      else if (op.kind === "result") batchResults.add(op.result.id);
    }
    const stored = await this.lookUp(ops, inBatch, batchResults, role);
    const known = (id: string): KnownTaskRun | undefined => this.taskRuns.get(id) ?? stored.taskRuns.get(id);
    const hasResult = (id: string) => batchResults.has(id) || this.results.has(id) || stored.results.has(id);
    /** The flow run of task run `id`, which must exist (and belong to `flowRunId` when given). */
    const taskRunOf = (id: string, path: string, flowRunId: string | null): string => {
      const run = inBatch.get(id)?.[0] ?? known(id);
      if (!run) throw new ApiError(404, "NOT_FOUND", `${path}: task run ${id} was not found`);
      if (flowRunId !== null && run.flowRunId !== flowRunId)
        throw new ApiError(409, "CONFLICT", `${path}: task run ${id} belongs to flow run ${run.flowRunId}, not ${flowRunId}`);
      return run.flowRunId;
    };

    ops.forEach((op, i) => {
      const at = `body.ops.${i}.${op.kind}`;
      switch (op.kind) {
        case "taskRun": {
          const run = op.taskRun;
          const before = known(run.id);
          if (before && before.flowRunId !== run.flowRunId)
            throw new ApiError(409, "CONFLICT", `${at}.flowRunId: task run ${run.id} belongs to flow run ${before.flowRunId}, not ${run.flowRunId}`);
          if (run.resultId && !hasResult(run.resultId)) throw new ApiError(404, "NOT_FOUND", `${at}.resultId: result ${run.resultId} was not found`);
          if (op.force && role !== "admin" && !isRerunOfUnpersisted(before, run))
            throw new ApiError(403, "FORBIDDEN", `${at}.force: forcing a transition needs an admin API key (task run ${run.id}, to ${run.state.name})`);
          break;
        }
        case "state": {
          const s = op.state;
          if (STATE_NAME_TYPE[s.name] !== s.type) throw new ApiError(400, "VALIDATION_ERROR", `${at}: state name ${s.name} is not of type ${s.type}`);
          if (s.taskRunId === null)
            throw new ApiError(400, "VALIDATION_ERROR", `${at}.taskRunId is required: a batch records task-run transitions; set a flow run's state with POST /api/flow-runs/{id}/set-state`);
          taskRunOf(s.taskRunId, `${at}.taskRunId`, s.flowRunId);
          const snapshots = inBatch.get(s.taskRunId);
          const states = snapshots ? snapshots.map((t) => t.state) : [known(s.taskRunId)!.state];
          if (!states.some((t) => t.name === s.name && t.timestamp === s.timestamp))
            throw new ApiError(409, "CONFLICT", `${at}: ${s.name} at ${s.timestamp} is not a transition of task run ${s.taskRunId} in this batch, nor its stored state`);
          break;
        }
        case "log":
          if (op.log.taskRunId) taskRunOf(op.log.taskRunId, `${at}.taskRunId`, op.log.flowRunId);
          break;
        case "event": {
          // Its flow run exists (checked above); a run's code may not pose as Baton itself —
          // but for the record of its own source, which its runner makes before loading the
          // code (the report reads the first, so code loaded later cannot replace it).
          const ownSource = op.event.event === FLOW_RUN_SOURCE_EVENT && op.event.resource.id === op.flowRunId;
          const problem = ownSource ? null : userEventNameProblem(op.event.event, `${at}.event`);
          if (problem) throw new ApiError(400, "VALIDATION_ERROR", problem);
          break;
        }
        case "dependency":
          // Stored under the downstream task run's flow run; the upstream one is only read.
          written.add(taskRunOf(op.dependency.taskRunId, `${at}.taskRunId`, null));
          taskRunOf(op.dependency.upstreamTaskRunId, `${at}.upstreamTaskRunId`, null);
          break;
        case "cache":
          written.add(taskRunOf(op.entry.taskRunId, `${at}.taskRunId`, null));
          if (!hasResult(op.entry.resultId)) throw new ApiError(404, "NOT_FOUND", `${at}.resultId: result ${op.entry.resultId} was not found`);
          break;
        case "result":
          break;
      }
    });

    if (!this.validate(ops, (id) => this.taskRuns.get(id)?.state)) {
      // Refused against memory: decide against the database itself.
      const stateOf = new Map<string, State>((await this.store.getTaskRuns([...inBatch.keys()])).map((t) => [t.id, t.state]));
      const error = this.validate(ops, (id) => stateOf.get(id), true);
      if (error) throw error;
    }
    return written;
  }

  /** Records what a batch left behind, once it is applied. */
  applied(ops: WriteOp[]): void {
    for (const op of ops) {
      if (op.kind === "taskRun") this.remember(this.taskRuns, op.taskRun.id, { flowRunId: op.taskRun.flowRunId, state: op.taskRun.state, resultId: op.taskRun.resultId });
      else if (op.kind === "result") this.remember(this.results, op.result.id);
    }
  }

  private async checkFlowRuns(ops: WriteOp[]): Promise<void> {
    const unknown = [...flowRunsOf(ops)].filter((id) => !this.flowRuns.has(id));
    if (!unknown.length) return;
    const existing = new Set(await this.store.existingFlowRunIds(unknown));
    for (const id of unknown) if (!existing.has(id)) throw notFound("flow run", id);
    for (const id of unknown) this.remember(this.flowRuns, id);
  }

  /** Reads (one query per kind) the referenced task runs and results that are neither in the batch nor remembered. */
  private async lookUp(ops: WriteOp[], inBatch: Map<string, TaskRun[]>, batchResults: Set<string>, role: CallerRole) {
    const taskRunIds = new Set<string>();
    const resultIds = new Set<string>();
    const needRun = (id: string | null) => id && !inBatch.has(id) && !this.taskRuns.has(id) && taskRunIds.add(id);
    const needResult = (id: string | null) => id && !batchResults.has(id) && !this.results.has(id) && resultIds.add(id);
    for (const op of ops) {
      if (op.kind === "state") needRun(op.state.taskRunId);
      else if (op.kind === "log") needRun(op.log.taskRunId);
      else if (op.kind === "dependency") needRun(op.dependency.taskRunId), needRun(op.dependency.upstreamTaskRunId);
      else if (op.kind === "cache") needRun(op.entry.taskRunId), needResult(op.entry.resultId);
      else if (op.kind === "taskRun") {
        needResult(op.taskRun.resultId);
        // Who may force is decided from the stored run, which a new server has not seen yet.
        if (op.force && role !== "admin" && !this.taskRuns.has(op.taskRun.id)) taskRunIds.add(op.taskRun.id);
      }
    }
    const taskRuns = new Map<string, KnownTaskRun>();
    if (taskRunIds.size) for (const t of await this.store.getTaskRuns([...taskRunIds])) taskRuns.set(t.id, t);
    const results = new Set<string>();
    for (const id of resultIds) if (await this.store.getResult(id)) results.add(id);
    return { taskRuns, results };
  }

  /** Returns true if every transition is accepted (or, with `explain`, the error of the first that is not). */
  private validate(ops: WriteOp[], lookup: (id: string) => State | undefined, explain?: false): boolean;
  private validate(ops: WriteOp[], lookup: (id: string) => State | undefined, explain: true): ApiError | null;
  private validate(ops: WriteOp[], lookup: (id: string) => State | undefined, explain = false): boolean | ApiError | null {
    const seen = new Map<string, State>();
    for (const op of ops) {
      if (op.kind !== "taskRun") continue;
      const run = op.taskRun;
      const from = seen.get(run.id) ?? lookup(run.id) ?? null;
      const same = from && from.name === run.state.name && from.timestamp === run.state.timestamp;
      if (!same) {
        const decision = decideTransition({ from, to: run.state, force: op.force });
        if (decision.kind !== "accept") {
          if (!explain) return false;
          return new ApiError(409, "INVALID_TRANSITION", `task run ${run.id} (${excerpt(run.taskKey)}): ${decision.reason}`, { rule: decision.rule, taskRunId: run.id });
        }
      }
      seen.set(run.id, run.state);
    }
    return explain ? null : true;
  }

  private remember<K, V>(collection: Map<K, V> | Set<K>, key: K, value?: V): void {
    if (collection instanceof Map) {
      collection.delete(key);
      collection.set(key, value as V);
    } else collection.add(key);
    if (collection.size > this.capacity) collection.delete(collection.keys().next().value as K);
  }
}

/**
 * The engine's own forced transition: a Completed task run whose result was not persisted runs
 * again (Completed → Pending). A worker key may make it; any other force needs an admin.
 */
function isRerunOfUnpersisted(stored: KnownTaskRun | undefined, run: TaskRun): boolean {
  return stored !== undefined && stored.state.type === "COMPLETED" && stored.resultId === null && run.state.name === "Pending";
}
