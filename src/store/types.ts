/**
 * The store interfaces, split by consumer: `RunStore` is what runs flows needs (the engine,
 * workers, the CLI), implemented by the database store and by the API client alike;
 * `Store` adds what only the database's owner does (migrations, the live tail, maintenance);
 * `OrchestrationStore` and `SchedulerStore` split deployments and pools the same way. The
 * database store is one Kysely schema for SQLite and PostgreSQL.
 * Times are epoch milliseconds; JSON-ish columns hold text.
 */
import type { AssetMaterialization, AssetReadRequest, AssetVersion, MaterializeOutcome } from "../core/assets.ts";
import type { RunValues } from "../core/experiments.ts";
import type { FlowRunInput, InputRequest } from "../core/flow-run-inputs.ts";
import type { RunResources } from "../core/resources.ts";
import type { State, StateName, StateType } from "../core/states.ts";
import type { ErrorInfo } from "../core/errors.ts";
import type { JobVariables } from "../core/job-variables.ts";
import type { EventRecord, NewEvent } from "../core/event-records.ts";
import type { EventFilter } from "../core/event-filter.ts";
import type { NewAuditEntry } from "../core/audit-chain.ts";
import type { Artifact } from "../schemas/artifact.ts";
import type { ConcurrencyLimit, Lease } from "../schemas/concurrency-limit.ts";
import type { Deployment, DeploymentInput, ScheduleRecord } from "../schemas/deployment.ts";
import type { FlowRecord } from "../schemas/flow.ts";
import type { FlowRun } from "../schemas/flow-run.ts";
import type { LogRecord } from "../schemas/log.ts";
import type { CacheEntry, ResultRecord } from "../schemas/result.ts";
import type { StateRecord } from "../schemas/state.ts";
import type { TaskDependency, TaskRun } from "../schemas/task-run.ts";
import type { Webhook } from "../schemas/webhook.ts";
import type { ClaimedFlowRun, WorkerRecord, WorkerRegistration } from "../schemas/worker.ts";
import type { WorkPool, WorkPoolInput, WorkQueue } from "../schemas/work-pool.ts";

// The records are declared once, as the API's schemas (src/schemas), and re-exported here so
// that the store's callers keep importing them from the Store's module.
export type { Artifact, CacheEntry, ClaimedFlowRun, ConcurrencyLimit, Deployment, DeploymentInput, FlowRecord, FlowRun, Lease, LogRecord, ResultRecord };
export type { StateRecord, TaskDependency, TaskRun, Webhook, WorkerRecord, WorkerRegistration, WorkPool, WorkPoolInput, WorkQueue };
export type { CollisionStrategy, ScheduleRecord } from "../schemas/deployment.ts";

/** One unit of a write batch; a batch is applied in one transaction. */
export type WriteOp =
  | {
      kind: "taskRun";
      taskRun: TaskRun;
      /** the transition was forced (skips the policy on the server) */
      force?: boolean;
      /** the task asked for an event at every transition (`emitEvents`), not only its failures */
      emitEvents?: boolean;
    }
  | { kind: "state"; state: Omit<StateRecord, "id"> }
  | { kind: "dependency"; dependency: TaskDependency }
  | { kind: "result"; result: ResultRecord }
  | { kind: "cache"; entry: CacheEntry }
  | { kind: "log"; log: LogRecord }
  /** An event emitted by code of flow run `flowRunId` (emitEvent), stored with the batch. */
  | { kind: "event"; event: NewEvent; flowRunId: string };

/** An in-place change of an artifact of run `flowRunId`: new data, or rows appended to a table. */
export interface ArtifactUpdate {
  flowRunId: string;
  data: unknown;
  append?: boolean;
  at: number;
}

export interface FlowRunFilter {
  flowName?: string;
  /** Runs of flows whose name starts with this, ignoring case (the dashboard's flow box). */
  flowNamePrefix?: string;
  /** Runs whose id starts with this (how people name a run: its first characters). */
  idPrefix?: string;
  /** Runs of this name (names are random and may repeat). */
  name?: string;
  stateTypes?: StateType[];
  stateNames?: StateName[];
  parentFlowRunId?: string;
  /** Runs of this deployment (id). */
  deploymentId?: string;
  /** Runs this worker claimed (id). */
  workerId?: string;
  /** Runs carrying every one of these tags. */
  tags?: string[];
  /** Created at or after (epoch ms). */
  createdAfter?: number;
  /** Created before (epoch ms). */
  createdBefore?: number;
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Where a reader of the append-only `states` and `logs` tables is: the highest id read from
 * each, and (PostgreSQL) the ranges of lower ids not seen yet. PostgreSQL assigns ids when a
 * row is inserted but transactions commit in any order, so a lower id can become visible after
 * a higher one; those ids are read again until they appear or cannot appear any more.
 */
export interface TailPosition {
  stateId: number;
  logId: number;
  pending?: TailGap[];
}

/** Ids `from..to` of a table that were invisible when a higher id was read. */
export interface TailGap {
  table: "states" | "logs";
  from: number;
  to: number;
  /** PostgreSQL: xmax of the snapshot that found the gap (transaction ids below it had started). */
  xmax: string;
  /** When the gap was found (epoch ms). */
  seenAt: number;
}

/** A batch of live events read from the store, and the position to read from next. */
export interface TailBatch {
  states: StateRecord[];
  logs: LogRecord[];
  position: TailPosition;
}

/** A page request of the durable event log: a filter, in log order. */
export interface EventQuery extends EventFilter {
  /** At most this many (default 100). */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** "newest" (default) or "oldest" first. */
  order?: "newest" | "oldest";
}

/** Seqs `from..to` of the event log that were invisible when a higher one was read (PostgreSQL). */
export interface EventGap {
  from: number;
  to: number;
  /** xmax of the snapshot that found the gap: transactions below it had started. */
  xmax: string;
  /** When the gap was found (epoch ms). */
  seenAt: number;
}

/** Where a reader of the event log is: every seq up to `seq` read, except those in `pending`. */
export interface EventTailPosition {
  seq: number;
  pending?: EventGap[];
}

export interface EventTailBatch {
  /** New events in seq order, each with the reader's position right after it. */
  events: { event: EventRecord; after: EventTailPosition }[];
  /** The position after the whole read (gaps that can no longer fill given up). */
  position: EventTailPosition;
}

/**
 * What the server needs of the event log beyond the Store: the stream's tail and retention.
 * A store on the database has it; a client of the API does not (it reads the stream).
 */
export interface EventLogMaintenance {
  /** Where a new stream reader starts: after the newest event. */
  eventTailStart(): Promise<EventTailPosition>;
  /** Events committed since `after` (late commits included, none twice), at most `limit`. */
  tailEventLog(after: EventTailPosition, limit: number): Promise<EventTailBatch>;
  /** Deletes events that occurred before `before` (epoch ms) with their index rows; returns how many. */
  deleteEventsBefore(before: number): Promise<number>;
}

export interface SetStateOptions {
  force?: boolean;
  /** With a RUNNING state: the heartbeat interval the running process promises. */
  heartbeatMs?: number;
  /** With a RUNNING state: when the run was last heard of (default: the state's timestamp); the server passes its own clock. */
  heartbeatAt?: number;
  /** Fields to update along with the state. */
  resultId?: string | null;
  error?: ErrorInfo | null;
  /** Default: one more on entering RUNNING (every start counts, whoever proposes it). */
  runCount?: number;
  /** With a final state: what the run's process used (engine/resource-meter.ts). */
  resources?: RunResources;
  /**
   * Compare-and-set: the transition applies only while the run still is as the caller read it —
   * held by this worker and/or in the state of this timestamp (refused otherwise, rule
   * `RunChangedSinceRead`). A worker uses it so that its late report of a dead process cannot
   * crash a run that has since been retried and claimed again.
   */
  expect?: { workerId?: string; stateTimestamp?: number };
}

export type SetStateResult =
  | { accepted: true; run: FlowRun }
  | { accepted: false; run: FlowRun; kind: "reject" | "abort" | "wait"; reason: string; rule: string; delayMs?: number };

export interface NewFlowRun {
  id: string;
  flowName: string;
  name: string;
  parentFlowRunId: string | null;
  parentTaskRunId: string | null;
  parameters: unknown;
  tags: string[];
  version: string | null;
  entrypoint?: string | null;
  deploymentId?: string | null;
  workPool?: string | null;
  workQueue?: string | null;
  expectedStartTime?: number | null;
  /** This run's own job variables (over its pool's and deployment's). */
  jobVariables?: JobVariables | null;
  state: State;
}

/**
 * What runs flows needs of the store — the engine and the SDK, workers, the CLI: flows, runs,
 * task runs, results, logs, events and artifacts. Both a database store and the API client
 * (remote mode, `src/client/`) implement it, and every method works in both: the engine's
 * integration suite runs against each (test/integration/engine.test.ts).
 */
export interface RunStore {
  /** "sqlite" or "postgres" (or "remote"). */
  readonly dialect: string;
  /** Where the store lives, for messages (no password). */
  readonly location: string;
  close(): Promise<void>;

  upsertFlow(flow: { name: string; description?: string | null; tags?: string[] }): Promise<FlowRecord>;
  listFlows(): Promise<FlowRecord[]>;
  /** A flow by id or by name. */
  getFlow(idOrName: string): Promise<FlowRecord | undefined>;

  createFlowRun(run: NewFlowRun): Promise<FlowRun>;
  getFlowRun(id: string): Promise<FlowRun | undefined>;
  /** Which of these flow run ids exist. */
  existingFlowRunIds(ids: readonly string[]): Promise<string[]>;
  listFlowRuns(filter?: FlowRunFilter): Promise<FlowRun[]>;
  /** Newest first, with a cursor for the next page. */
  pageFlowRuns(filter?: FlowRunFilter): Promise<Page<FlowRun>>;
  /** Deletes a flow run with its task runs, states, dependencies, logs and artifacts, unlinking its child runs, in one transaction. False if absent. */
  deleteFlowRun(id: string): Promise<boolean>;
  /** Proposes a state through the orchestration rules, atomically. */
  setFlowRunState(id: string, state: State, options?: SetStateOptions): Promise<SetStateResult>;
  /**
   * Records a heartbeat at `at` — never moving the last heartbeat backwards (a retried or late
   * request carries an older time); returns the run's current state type (so a runner sees a cancel).
   * Behind a server, the server's clock is recorded (it is the one its crash detector reads).
   */
  heartbeatFlowRun(id: string, at: number): Promise<StateType | undefined>;
  /**
   * Marks Crashed (with their unfinished task runs) the flow runs whose process is gone — all
   * of them, or only `onlyId` — and returns their ids: see `Store.crashStaleFlowRuns`. Behind a
   * server, the server's clock and its start time decide what was missed.
   */
  crashStaleFlowRuns(now: number, options?: { onlyId?: string }): Promise<string[]>;

  /**
   * Applies a batch of writes in one transaction. With `batchId`, a batch already applied
   * under that id is skipped (returns false): retries of a request are applied once.
   */
  applyWrites(ops: readonly WriteOp[], options?: { batchId?: string }): Promise<boolean>;
  getTaskRun(id: string): Promise<TaskRun | undefined>;
  /** The task runs among `ids` that exist. */
  getTaskRuns(ids: readonly string[]): Promise<TaskRun[]>;
  listTaskRuns(flowRunId: string): Promise<TaskRun[]>;
  /** Task runs of any flow run whose id starts with `prefix` (at most `limit`), for people naming one by a prefix. */
  findTaskRunsByIdPrefix(prefix: string, limit: number): Promise<TaskRun[]>;
  listDependencies(flowRunId: string): Promise<TaskDependency[]>;
  stateHistory(runId: string): Promise<StateRecord[]>;

  getResult(id: string): Promise<ResultRecord | undefined>;
  /** The live cache entry of a key at `now` (behind a server, the server's clock decides expiry). */
  lookupCache(cacheKey: string, now: number): Promise<CacheEntry | undefined>;

  listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]>;

  /** Moves a flow run to Paused and records the input it asks for, atomically (core/flow-run-inputs.ts). */
  pauseFlowRun(id: string, request: InputRequest): Promise<SetStateResult>;
  /** A run's pause under `key`, with its input once supplied. */
  getFlowRunInput(id: string, key: string): Promise<FlowRunInput | undefined>;
  /** A run's pauses, oldest first; the open one (if the run is Paused) was made at its state's timestamp. */
  listFlowRunInputs(id: string): Promise<FlowRunInput[]>;
  /**
   * Stores the (already validated) input of pause `key` and moves the run Paused -> Scheduled,
   * atomically; refused unless the run is still in the Paused state of `pausedAt`. Behind a
   * server this is `POST /api/flow-runs/{id}/resume`, which validates again.
   */
  supplyFlowRunInput(id: string, key: string, input: unknown, options: { by: string; pausedAt: number }): Promise<SetStateResult>;

  /** Events of the durable log matching a filter, a page at a time (newest first by default). */
  listEvents(query: EventQuery): Promise<Page<EventRecord>>;
  /** Stores events from outside a run in one transaction, each once (an id already stored is skipped). */
  emitEvents(events: readonly NewEvent[]): Promise<void>;

  /** Stores an artifact (an image with its `content` bytes), or replaces the same id of the same run. */
  /** Parameters and metrics runs logged (`logParams`, `logMetric`): a key or a metric's step logged again replaces its value. */
  logRunValues(batch: readonly RunValues[]): Promise<void>;
  /**
   * Resolves a run's declared asset reads (the latest version, or the pinned one by name or
   * hash) and records them as read by it; null for an asset with no version yet. A pinned
   * version that does not exist: AssetVersionNotFoundError, nothing recorded.
   */
  recordAssetReads(request: AssetReadRequest): Promise<(AssetVersion | null)[]>;
  /** Records a materialisation: a new version when its content is new, else a confirmation (store/asset-writes.ts). */
  materializeAsset(materialization: AssetMaterialization): Promise<MaterializeOutcome>;
  createArtifact(artifact: Artifact, content?: Uint8Array): Promise<void>;
  listArtifacts(filter: { flowRunId?: string; key?: string; limit?: number }): Promise<Artifact[]>;
  /**
   * Changes an artifact's data in place (same id), stamping `updatedAt`; undefined when there is
   * no such artifact of that run. An ArtifactDataError when it cannot take the change.
   */
  updateArtifact(id: string, update: ArtifactUpdate): Promise<Artifact | undefined>;
}

/**
 * States and logs as they commit, read from the database: the feed behind the server's live
 * stream, and `baton flow-run watch` on a database. A client of the API reads that stream
 * instead (client/event-stream.ts).
 */
export interface StateLogTail {
  /** Where a new reader starts: after the newest state and log. */
  tailPosition(): Promise<TailPosition>;
  /**
   * States and logs committed since a position, by id: the feed of live events. Rows of
   * transactions that commit late (with ids below ones already read) are delivered when they
   * appear; nothing committed after `after` is skipped.
   */
  tail(after: TailPosition, limit: number): Promise<TailBatch>;
  /** States and logs with ids above `after` (optionally of one flow run), by id: a replay. */
  eventsAfter(after: { stateId: number; logId: number }, options: { flowRunId?: string; limit: number }): Promise<{ states: StateRecord[]; logs: LogRecord[] }>;
}

/** How the crash sweep counts missed heartbeats (see `Store.crashStaleFlowRuns`). */
export interface CrashSweepOptions {
  onlyId?: string;
  /** Beats missed before a run or a worker counts as dead (default 3). */
  missedBeats?: number;
  /**
   * Count missed beats from no earlier than this (a server counts from its start: heartbeats
   * sent while it was down could not arrive).
   */
  aliveSince?: number;
}

/**
 * A store on the database itself (SQLite or PostgreSQL): what runs flows needs, plus what only
 * the owner of the database does — migrations, the live tail, the crash sweep with its clock,
 * log retention, and the ledger of applied batches. The server (and a process on the database
 * with no server) needs one; the API client does not offer these.
 */
export interface Store extends RunStore, StateLogTail {
  migrate(): Promise<void>;
  /**
   * Marks Crashed (with their unfinished task runs) the flow runs whose process is gone: every
   * RUNNING or CANCELLING run that missed `missedBeats` (default 3) heartbeats of its own
   * interval by `now`, and every PENDING, RUNNING or CANCELLING run claimed by a worker that
   * missed `missedBeats` of the worker's heartbeats. Returns their ids.
   */
  crashStaleFlowRuns(now: number, options?: CrashSweepOptions): Promise<string[]>;
  /** Whether a batch with this id was applied. */
  batchApplied(batchId: string): Promise<boolean>;
  /** Deletes logs older than `before` (epoch ms); returns how many. */
  deleteLogsBefore(before: number): Promise<number>;
  /** The open pauses of Paused runs whose timeout passed by `now` (the timeout sweep's). */
  listExpiredPauses(now: number): Promise<FlowRunInput[]>;
}

// ---------------------------------------------------------------------------------------------
// Webhooks.

/** Storage of webhooks (templates are checked before they get here: server/webhooks.ts). */
export interface WebhookStore {
  createWebhook(webhook: Webhook): Promise<Webhook>;
  listWebhooks(): Promise<Webhook[]>;
  getWebhook(slug: string): Promise<Webhook | undefined>;
  /** False if there was none. */
  deleteWebhook(slug: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Deployments, work pools and workers, concurrency limits.

/**
 * Storage of the orchestration objects: deployments, pools, workers, limits. Both the database
 * store and the API client implement it, every method working in both.
 */
export interface OrchestrationStore {
  upsertDeployment(input: DeploymentInput): Promise<Deployment>;
  getDeployment(idOrName: string): Promise<Deployment | undefined>;
  listDeployments(): Promise<Deployment[]>;
  deleteDeployment(idOrName: string): Promise<boolean>;
  setDeploymentPaused(idOrName: string, paused: boolean): Promise<Deployment | undefined>;
  /** Pauses or resumes one schedule of a deployment; undefined if either does not exist. */
  setScheduleActive(deploymentIdOrName: string, scheduleId: string, active: boolean): Promise<Deployment | undefined>;
  /** Adds a (compiled) schedule after the deployment's others; undefined if the deployment does not exist. */
  addSchedule(deploymentIdOrName: string, schedule: { spec: ScheduleRecord["spec"]; active: boolean }): Promise<ScheduleRecord | undefined>;
  /** Replaces a schedule's spec (and its pause state, if `active` is given); undefined if either does not exist. */
  updateSchedule(deploymentIdOrName: string, scheduleId: string, schedule: { spec: ScheduleRecord["spec"]; active?: boolean }): Promise<ScheduleRecord | undefined>;
  /** Deletes one schedule of a deployment; false if either does not exist. */
  deleteSchedule(deploymentIdOrName: string, scheduleId: string): Promise<boolean>;
  upsertWorkPool(pool: WorkPoolInput): Promise<WorkPool>;
  upsertWorkQueue(queue: { poolName: string; name: string; priority?: number; concurrencyLimit?: number | null; paused?: boolean }): Promise<WorkQueue>;
  getWorkPool(name: string): Promise<WorkPool | undefined>;
  listWorkPools(): Promise<WorkPool[]>;
  deleteWorkPool(name: string): Promise<boolean>;
  /** Deletes a queue of a pool; false if either does not exist. */
  deleteWorkQueue(poolName: string, queueName: string): Promise<boolean>;
  registerWorker(worker: WorkerRegistration): Promise<WorkerRecord>;
  heartbeatWorker(id: string, at: number): Promise<void>;
  listWorkers(poolName?: string): Promise<WorkerRecord[]>;
  getWorker(id: string): Promise<WorkerRecord | undefined>;
  /**
   * Claims up to `max` due runs of a pool for a worker, atomically: each becomes Pending with
   * the worker's id, in queue-priority then due-time order, honouring pool, queue and
   * deployment concurrency limits. Two workers never claim the same run. With `waitMs`, a
   * store behind a server waits up to that long for a run while none is due (a long-poll); a
   * database store answers at once (its workers are woken by `subscribeRunsDue` instead).
   */
  claimFlowRuns(poolName: string, workerId: string, max: number, now: number, waitMs?: number): Promise<ClaimedFlowRun[]>;
  /** Ends a worker's long-polled claim at once (it is stopping), where claims wait. */
  interruptClaim?(workerId: string): Promise<void>;
  /** When the pool's next scheduled run is due (epoch ms), or null: workers sleep until then. */
  nextDueAt(poolName: string): Promise<number | null>;

  upsertConcurrencyLimit(limit: { name: string; limit: number; slotDecayPerSecond?: number | null }): Promise<ConcurrencyLimit>;
  listConcurrencyLimits(): Promise<ConcurrencyLimit[]>;
  getConcurrencyLimit(name: string): Promise<ConcurrencyLimit | undefined>;
  deleteConcurrencyLimit(name: string): Promise<boolean>;
  /** Frees every slot of a limit. */
  resetConcurrencyLimit(name: string): Promise<void>;
  /**
   * Takes `slots` of every named limit for `holder` until `now + ttlMs`, all or nothing.
   * Expired leases free their slots: a crashed holder never leaks one. Null when full.
   */
  acquireSlots(names: string[], holder: string, slots: number, ttlMs: number, now: number): Promise<Lease[] | null>;
  /** Extends leases to `now + ttlMs`; returns the ids it extended (a missing one was lost). */
  renewLeases(leaseIds: string[], ttlMs: number, now: number): Promise<string[]>;
  releaseLeases(leaseIds: string[]): Promise<void>;
}

/**
 * The scheduler's writes, on the database only (a server, or workers on the database with no
 * server, run the scheduler; its clients do not): see services/scheduling.ts.
 */
export interface SchedulerStore extends Pick<OrchestrationStore, "getDeployment" | "listDeployments"> {
  /**
   * Creates these Scheduled runs of the deployment's schedules, each for the slot in its
   * `expectedStartTime`, skipping slots that have a run already (idempotent per slot); returns
   * how many it made. `audit` names, for each run made, the entry that records it (appended to
   * the audit log in the same transaction: a run the scheduler made is never missing from it).
   */
  scheduleRuns(deployment: Deployment, runs: readonly NewFlowRun[], audit?: (run: FlowRun) => NewAuditEntry): Promise<number>;
  /** Marks Late the Scheduled runs due more than `lateAfterMs` ago; returns their ids. */
  markLateRuns(now: number, lateAfterMs: number): Promise<string[]>;
  /** The latest slot (expected start time) the deployment has a run for; null when none. */
  latestSlot(deploymentId: string): Promise<number | null>;
}
