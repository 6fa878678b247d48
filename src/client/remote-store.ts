/**
 * The Store over the Baton API (remote client mode, BATON_API_URL): the SDK runs flows
 * unchanged and its records land in the server. Task-run writes travel in batches (the write
 * batcher's), each with an id so a batch retried after a lost response is applied once.
 * Proposing a state that the server already holds (a retried request) counts as accepted.
 * It implements `RunStore` only: what needs the database itself (the live tail, retention, the
 * applied-batch ledger) is the server's, and a client reads the server's streams instead.
 */
import { AssetVersionConflictError, AssetVersionNotFoundError, type AssetMaterialization, type AssetReadRequest, type AssetVersion, type MaterializeOutcome } from "../core/assets.ts";
import type { RunValues } from "../core/experiments.ts";
import { newId } from "../core/ids.ts";
import { proposalAlreadyApplied } from "../core/deployment-retry.ts";
import type { State, StateType } from "../core/states.ts";
import type { EventRecord, NewEvent } from "../core/event-records.ts";
import type { FlowRunInput, InputRequest } from "../core/flow-run-inputs.ts";
import type {
  Artifact,
  ArtifactUpdate,
  CacheEntry,
  EventQuery,
  FlowRecord,
  FlowRun,
  FlowRunFilter,
  LogRecord,
  NewFlowRun,
  Page,
  ResultRecord,
  RunStore,
  SetStateOptions,
  SetStateResult,
  StateRecord,
  TaskDependency,
  TaskRun,
  WriteOp,
} from "../store/types.ts";
import { ApiClient, ApiRequestError, orUndefined } from "./api-client.ts";
import { parseAnswer } from "./answers.ts";
import { ArtifactListSchema, ArtifactSchema } from "../schemas/artifact.ts";
import { AssetReadsSchema, MaterializeOutcomeSchema } from "../schemas/asset.ts";
import { EventPageSchema } from "../schemas/event.ts";
import { FlowListSchema, FlowSchema } from "../schemas/flow.ts";
import { CrashStaleAnswerSchema, FlowRunPageSchema, FlowRunSchema, HeartbeatAnswerSchema, TransitionRefusalSchema } from "../schemas/flow-run.ts";
import { LogListSchema } from "../schemas/log.ts";
import { CacheEntrySchema, ResultSchema } from "../schemas/result.ts";
import { StateHistorySchema } from "../schemas/state.ts";
import { TaskRunListSchema, TaskRunPageSchema, TaskRunSchema } from "../schemas/task-run.ts";
import { FlowRunInputListSchema, FlowRunInputSchema } from "../schemas/flow-run-input.ts";

const enc = encodeURIComponent;
const MAX_BATCH_OPS = 2000;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class RemoteStore implements RunStore {
  readonly dialect = "remote";
  readonly location: string;

  constructor(readonly api: ApiClient) {
    this.location = api.baseUrl;
  }

  /** Resolves once the server answers (its clients' first request, so a wrong URL fails at once). */
  async ping(): Promise<void> {
    await this.api.request("GET", "/api/health");
  }

  async close(): Promise<void> {
    this.api.close();
  }

  upsertFlow(flow: { name: string; description?: string | null; tags?: string[] }): Promise<FlowRecord> {
    return this.api.request("POST", "/api/flows", flow, FlowSchema);
  }

  async listFlows(): Promise<FlowRecord[]> {
    return (await this.api.request("GET", "/api/flows", undefined, FlowListSchema)).items;
  }

  getFlow(idOrName: string): Promise<FlowRecord | undefined> {
    return orUndefined(this.api.request("GET", `/api/flows/${enc(idOrName)}`, undefined, FlowSchema));
  }

  async createFlowRun(run: NewFlowRun): Promise<FlowRun> {
    try {
      const created = await this.api.request("POST", "/api/flow-runs", {
        id: run.id,
        flowName: run.flowName,
        name: run.name,
        parentFlowRunId: run.parentFlowRunId,
        parentTaskRunId: run.parentTaskRunId,
        parameters: run.parameters ?? {},
        tags: run.tags,
        version: run.version,
        entrypoint: run.entrypoint ?? null,
        deploymentId: run.deploymentId ?? null,
        workPool: run.workPool ?? null,
        workQueue: run.workQueue ?? null,
        ...(run.jobVariables ? { jobVariables: run.jobVariables } : {}),
        state: run.state.name,
        ...(run.state.message ? { message: run.state.message } : {}),
        ...(run.state.scheduledAt ? { scheduledAt: run.state.scheduledAt } : {}),
      }, FlowRunSchema);
      return created;
    } catch (error) {
      // A retried create whose first attempt went through.
      if (error instanceof ApiRequestError && error.status === 409) return (await this.getFlowRun(run.id))!;
      throw error;
    }
  }

  async existingFlowRunIds(ids: readonly string[]): Promise<string[]> {
    const runs = await Promise.all(ids.map((id) => this.getFlowRun(id)));
    return runs.filter((r): r is FlowRun => r !== undefined).map((r) => r.id);
  }

  getFlowRun(id: string): Promise<FlowRun | undefined> {
    return orUndefined(this.api.request("GET", `/api/flow-runs/${enc(id)}`, undefined, FlowRunSchema));
  }

  async listFlowRuns(filter: FlowRunFilter = {}): Promise<FlowRun[]> {
    return (await this.pageFlowRuns(filter)).items;
  }

  pageFlowRuns(filter: FlowRunFilter = {}): Promise<Page<FlowRun>> {
    const q = new URLSearchParams();
    if (filter.flowName) q.set("flow", filter.flowName);
    if (filter.flowNamePrefix) q.set("flowPrefix", filter.flowNamePrefix);
    if (filter.idPrefix) q.set("idPrefix", filter.idPrefix);
    if (filter.name) q.set("name", filter.name);
    if (filter.stateNames?.length) q.set("state", filter.stateNames.join(","));
    if (filter.stateTypes?.length) q.set("stateType", filter.stateTypes.join(","));
    if (filter.tags?.length) q.set("tag", filter.tags.join(","));
    if (filter.parentFlowRunId) q.set("parent", filter.parentFlowRunId);
    if (filter.deploymentId) q.set("deployment", filter.deploymentId);
    if (filter.workerId) q.set("worker", filter.workerId);
    if (filter.createdAfter != null) q.set("since", String(filter.createdAfter));
    if (filter.createdBefore != null) q.set("until", String(filter.createdBefore));
    if (filter.cursor) q.set("cursor", filter.cursor);
    q.set("limit", String(Math.min(500, filter.limit ?? 200)));
    return this.api.request("GET", `/api/flow-runs?${q.toString()}`, undefined, FlowRunPageSchema);
  }

  async deleteFlowRun(id: string): Promise<boolean> {
    try {
      await this.api.request("DELETE", `/api/flow-runs/${enc(id)}`);
      return true;
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) return false;
      throw error;
    }
  }

  async setFlowRunState(id: string, state: State, options: SetStateOptions = {}): Promise<SetStateResult> {
    try {
      // heartbeatAt is the server's to set (its clock is the one the crash detector reads).
      const { heartbeatAt: _serverClock, ...fields } = options;
      const path = `/api/flow-runs/${enc(id)}/set-state`;
      const proposal = { state: { name: state.name, message: state.message ?? null, scheduledAt: state.scheduledAt ?? null, timestamp: state.timestamp }, ...fields };
      return { accepted: true, run: await this.api.request("POST", path, proposal, FlowRunSchema) };
    } catch (error) {
      if (!(error instanceof ApiRequestError) || error.status !== 409) throw error;
      const details = parseAnswer(TransitionRefusalSchema, error.details, `POST /api/flow-runs/${id}/set-state (409 details)`);
      const current = details.run;
      if (proposalAlreadyApplied(current.state, state)) return { accepted: true, run: current };
      return { accepted: false, run: current, kind: details.decision, reason: error.message, rule: details.rule, delayMs: details.delayMs ?? undefined };
    }
  }

  async pauseFlowRun(id: string, request: InputRequest): Promise<SetStateResult> {
    try {
      return { accepted: true, run: await this.api.request("POST", `/api/flow-runs/${enc(id)}/pause`, request, FlowRunSchema) };
    } catch (error) {
      const refused = refusalOf(error);
      // A retried request whose first answer was lost: this pause is the run's open one.
      if (refused.run.state.type === "PAUSED" && (await this.getFlowRunInput(id, request.key))?.createdAt === refused.run.state.timestamp) return { accepted: true, run: refused.run };
      return refused;
    }
  }

  getFlowRunInput(id: string, key: string): Promise<FlowRunInput | undefined> {
    return orUndefined(this.api.request("GET", `/api/flow-runs/${enc(id)}/inputs/${enc(key)}`, undefined, FlowRunInputSchema));
  }

  listFlowRunInputs(id: string): Promise<FlowRunInput[]> {
    return this.api.request("GET", `/api/flow-runs/${enc(id)}/inputs`, undefined, FlowRunInputListSchema);
  }

  /** The server validates the input again, and records who resumed the run as the API. */
  async supplyFlowRunInput(id: string, key: string, input: unknown, options: { by: string; pausedAt: number }): Promise<SetStateResult> {
    try {
      return { accepted: true, run: await this.api.request("POST", `/api/flow-runs/${enc(id)}/resume`, { input, key, pausedAt: options.pausedAt }, FlowRunSchema) };
    } catch (error) {
      return refusalOf(error);
    }
  }

  async heartbeatFlowRun(id: string, at: number): Promise<StateType | undefined> {
    return (await this.api.request("POST", `/api/flow-runs/${enc(id)}/heartbeat`, { at }, HeartbeatAnswerSchema)).stateType;
  }

  async crashStaleFlowRuns(_now: number, options: { onlyId?: string } = {}): Promise<string[]> {
    const body = options.onlyId ? { onlyId: options.onlyId } : {};
    return (await this.api.request("POST", "/api/flow-runs/crash-stale", body, CrashStaleAnswerSchema)).crashed;
  }

  /**
   * Sends the batch in requests of at most ~2,000 ops or ~4 MB, in order, each applied
   * atomically by the server; resolves once all are committed.
   */
  async applyWrites(ops: readonly WriteOp[]): Promise<boolean> {
    let chunk: WriteOp[] = [];
    let bytes = 0;
    const send = async () => {
      if (chunk.length) await this.api.request("POST", "/api/batch", { batchId: newId(), ops: chunk });
      chunk = [];
      bytes = 0;
    };
    for (const op of ops) {
      const size = op.kind === "result" ? op.result.size + 200 : op.kind === "log" ? op.log.message.length + 200 : 400;
      // A history row travels with the task-run snapshot before it: the server accepts a state
      // op only as a transition of a task run in the same batch (or its stored state).
      if (chunk.length > 0 && op.kind !== "state" && (chunk.length >= MAX_BATCH_OPS || bytes + size > MAX_BATCH_BYTES)) await send();
      chunk.push(op);
      bytes += size;
    }
    await send();
    return true;
  }

  getTaskRun(id: string): Promise<TaskRun | undefined> {
    return orUndefined(this.api.request("GET", `/api/task-runs/${enc(id)}`, undefined, TaskRunSchema));
  }

  async getTaskRuns(ids: readonly string[]): Promise<TaskRun[]> {
    const runs = await Promise.all(ids.map((id) => this.getTaskRun(id)));
    return runs.filter((r): r is TaskRun => r !== undefined);
  }

  async listTaskRuns(flowRunId: string): Promise<TaskRun[]> {
    return (await this.api.request("GET", `/api/flow-runs/${enc(flowRunId)}/task-runs`, undefined, TaskRunListSchema)).items;
  }

  async findTaskRunsByIdPrefix(prefix: string, limit: number): Promise<TaskRun[]> {
    return (await this.api.request("GET", `/api/task-runs?idPrefix=${enc(prefix)}&limit=${limit}`, undefined, TaskRunPageSchema)).items;
  }

  async listDependencies(flowRunId: string): Promise<TaskDependency[]> {
    return (await this.api.request("GET", `/api/flow-runs/${enc(flowRunId)}/task-runs`, undefined, TaskRunListSchema)).dependencies;
  }

  async stateHistory(runId: string): Promise<StateRecord[]> {
    const flowRun = await orUndefined(this.api.request("GET", `/api/flow-runs/${enc(runId)}/states`, undefined, StateHistorySchema));
    return flowRun ?? (await orUndefined(this.api.request("GET", `/api/task-runs/${enc(runId)}/states`, undefined, StateHistorySchema))) ?? [];
  }

  getResult(id: string): Promise<ResultRecord | undefined> {
    return orUndefined(this.api.request("GET", `/api/results/${enc(id)}`, undefined, ResultSchema));
  }

  lookupCache(cacheKey: string, _now: number): Promise<CacheEntry | undefined> {
    return orUndefined(this.api.request("GET", `/api/cache/${enc(cacheKey)}`, undefined, CacheEntrySchema));
  }

  async listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]> {
    const q = new URLSearchParams({ flowRunId: filter.flowRunId });
    if (filter.taskRunId) q.set("taskRunId", filter.taskRunId);
    if (filter.minLevel) q.set("minLevel", String(filter.minLevel));
    if (filter.afterId) q.set("afterId", String(filter.afterId));
    q.set("limit", String(Math.min(5000, filter.limit ?? 1000)));
    return (await this.api.request("GET", `/api/logs?${q.toString()}`, undefined, LogListSchema)).items;
  }

  listEvents(query: EventQuery): Promise<Page<EventRecord>> {
    const q = new URLSearchParams();
    if (query.event?.length) q.set("event", query.event.join(","));
    if (query.resource !== undefined) q.set("resource", query.resource);
    if (query.related !== undefined) q.set("related", query.related);
    if (query.involves !== undefined) q.set("involves", query.involves);
    if (query.since !== undefined) q.set("since", String(query.since));
    if (query.until !== undefined) q.set("until", String(query.until));
    if (query.order) q.set("order", query.order);
    if (query.cursor) q.set("cursor", query.cursor);
    q.set("limit", String(Math.min(1000, query.limit ?? 100)));
    return this.api.request("GET", `/api/events?${q.toString()}`, undefined, EventPageSchema);
  }

  /** Sends events in requests of at most 1,000 (the server's limit); ids make a retried request harmless. */
  async emitEvents(events: readonly NewEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1000) await this.api.request("POST", "/api/events", events.slice(i, i + 1000));
  }

  /** A batch per request, at most 1,000 runs' entries each (the route's limit). */
  async logRunValues(batch: readonly RunValues[]): Promise<void> {
    for (let i = 0; i < batch.length; i += 1000) await this.api.request("POST", "/api/run-values", { entries: batch.slice(i, i + 1000) });
  }

  recordAssetReads(request: AssetReadRequest): Promise<(AssetVersion | null)[]> {
    return assetErrors(async () => (await this.api.request("POST", "/api/asset-reads", request, AssetReadsSchema)).items as (AssetVersion | null)[]);
  }

  materializeAsset(materialization: AssetMaterialization): Promise<MaterializeOutcome> {
    return assetErrors(async () => (await this.api.request("POST", "/api/asset-materializations", materialization, MaterializeOutcomeSchema)) as MaterializeOutcome);
  }

  /**
   * An image's bytes travel as base64 in the JSON body (`content`). The server sets `createdAt`
   * (its clock): the caller's record takes the stored one.
   */
  async createArtifact(artifact: Artifact, content?: Uint8Array): Promise<void> {
    const { updatedAt: _updated, createdAt: _created, ...fields } = artifact;
    const stored = await this.api.request("POST", "/api/artifacts", content ? { ...fields, content: Buffer.from(content).toString("base64") } : fields, ArtifactSchema);
    artifact.createdAt = stored.createdAt;
  }

  updateArtifact(id: string, update: ArtifactUpdate): Promise<Artifact | undefined> {
    return orUndefined(this.api.request("PATCH", `/api/artifacts/${enc(id)}`, { flowRunId: update.flowRunId, data: update.data, append: update.append ?? false }, ArtifactSchema));
  }

  async listArtifacts(filter: { flowRunId?: string; key?: string; limit?: number }): Promise<Artifact[]> {
    const q = new URLSearchParams();
    if (filter.flowRunId) q.set("flowRunId", filter.flowRunId);
    if (filter.key) q.set("key", filter.key);
    if (filter.limit) q.set("limit", String(filter.limit));
    return (await this.api.request("GET", `/api/artifacts?${q.toString()}`, undefined, ArtifactListSchema)).items;
  }
}

/** A 409 INVALID_TRANSITION answer as a refused proposal (other errors are thrown on). */
function refusalOf(error: unknown): Extract<SetStateResult, { accepted: false }> {
  if (!(error instanceof ApiRequestError) || error.status !== 409 || !(error.details as { run?: FlowRun } | null)?.run) throw error;
  const details = error.details as { rule: string; decision: "reject" | "abort" | "wait"; delayMs: number | null; run: FlowRun };
  return { accepted: false, run: details.run, kind: details.decision, reason: error.message, rule: details.rule, delayMs: details.delayMs ?? undefined };
}

/** A refused asset write keeps the class it has with a local store (a missing pinned version, a version name taken). */
async function assetErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiRequestError && error.code === "NOT_FOUND" && /has no version|no asset version/.test(error.message)) throw new AssetVersionNotFoundError(error.message, { cause: error });
    if (error instanceof ApiRequestError && error.status === 409 && /already has a version/.test(error.message)) throw new AssetVersionConflictError(error.message, { cause: error });
    throw error;
  }
}
