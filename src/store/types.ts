/**
 * The store interfaces, split by consumer: `RunStore` is what runs flows needs (the engine,
 * workers, the CLI), implemented by the database store and by the API client alike;
 * `Store` adds what only the database's owner does (migrations, the live tail, maintenance);
 * `OrchestrationStore` and `SchedulerStore` split deployments and pools the same way. The
 * database store is one Kysely schema for SQLite and PostgreSQL.
 * Times are epoch milliseconds; JSON-ish columns hold text.
 */
import type { ArtifactType } from "../core/artifacts.ts";
import type { State, StateName, StateType } from "../core/states.ts";
import type { ErrorInfo } from "../core/errors.ts";
import type { JobVariables } from "../core/job-variables.ts";
import type { EventRecord, NewEvent } from "../core/event-records.ts";
import type { EventFilter } from "../core/event-filter.ts";

export interface FlowRecord {
  id: string;
  name: string;
  description: string | null;
  tags: string[];
  createdAt: number;
  updatedAt: number;
}

export interface FlowRun {
  id: string;
  flowId: string;
  flowName: string;
  name: string;
  parentFlowRunId: string | null;
  parentTaskRunId: string | null;
  state: State;
  parameters: unknown;
  tags: string[];
  /** Attempts made: every start counts (1 on the first run; each flow retry and each resume adds one). */
  runCount: number;
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
  heartbeatAt: number | null;
  /** The heartbeat interval of the process running it; missing 3 beats means Crashed. */
  heartbeatMs: number | null;
  resultId: string | null;
  error: ErrorInfo | null;
  version: string | null;
  /** `/path/to/module.ts:flowName`: where the flow's code lives, for resuming it by id. */
  entrypoint: string | null;
  deploymentId: string | null;
  workPool: string | null;
  workQueue: string | null;
  workerId: string | null;
  /** The schedule slot this run was created for. */
  expectedStartTime: number | null;
  /** Deployment retries used: each crash or failure that scheduled a retry (a start failure too). */
  retriesUsed: number;
}

export interface TaskRun {
  id: string;
  flowRunId: string;
  /** Stable inside the flow run: task name plus call index, or the task's `key` option. */
  taskKey: string;
  taskName: string;
  state: State;
  /** Total attempts made, over all resumes. */
  runCount: number;
  cacheKey: string | null;
  resultId: string | null;
  error: ErrorInfo | null;
  tags: string[];
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
}

export interface StateRecord extends State {
  id: number;
  flowRunId: string;
  taskRunId: string | null;
}

export interface TaskDependency {
  taskRunId: string;
  upstreamTaskRunId: string;
  /** "data": the upstream's result is an argument; "wait": ordered only (waitFor). */
  kind: "data" | "wait";
}

export interface LogRecord {
  id?: number;
  flowRunId: string;
  taskRunId: string | null;
  /** pino levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
  level: number;
  message: string;
  timestamp: number;
  extra?: Record<string, unknown> | null;
}

export interface ResultRecord {
  id: string;
  serializer: string;
  /** Inline value for small results; `null` when the value lives in a file. */
  value: string | null;
  /** Path under the result directory for large results. */
  path: string | null;
  size: number;
  createdAt: number;
}

export interface CacheEntry {
  cacheKey: string;
  resultId: string;
  taskRunId: string;
  expiresAt: number | null;
  createdAt: number;
}

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

/** Something a run publishes for people: a markdown report, a table, a link, a progress, an image (core/artifacts.ts). */
export interface Artifact {
  id: string;
  /** Optional stable name: the newest artifact of a key is its current version. */
  key: string | null;
  type: ArtifactType;
  /** Markdown text, rows, `{ url, title }`, a progress 0..100, `{ mimeType, size }` or `{ url }` of an image. */
  data: unknown;
  description: string | null;
  flowRunId: string;
  taskRunId: string | null;
  createdAt: number;
  /** When its data last changed in place (`update`, `append`); null: never. */
  updatedAt?: number | null;
}

/** An in-place change of an artifact of run `flowRunId`: new data, or rows appended to a table. */
export interface ArtifactUpdate {
  flowRunId: string;
  data: unknown;
  append?: boolean;
  at: number;
}

export interface FlowRunFilter {
  flowName?: string;
  stateTypes?: StateType[];
  stateNames?: StateName[];
  parentFlowRunId?: string;
  /** Runs of this deployment (id). */
  deploymentId?: string;
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

/** A run handed to a worker, with the job variables to start it with (pool ← deployment ← run). */
export interface ClaimedFlowRun extends FlowRun {
  jobVariables: JobVariables;
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
  listDependencies(flowRunId: string): Promise<TaskDependency[]>;
  stateHistory(runId: string): Promise<StateRecord[]>;

  getResult(id: string): Promise<ResultRecord | undefined>;
  /** The live cache entry of a key at `now` (behind a server, the server's clock decides expiry). */
  lookupCache(cacheKey: string, now: number): Promise<CacheEntry | undefined>;

  listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]>;

  /** Events of the durable log matching a filter, a page at a time (newest first by default). */
  listEvents(query: EventQuery): Promise<Page<EventRecord>>;
  /** Stores events from outside a run in one transaction, each once (an id already stored is skipped). */
  emitEvents(events: readonly NewEvent[]): Promise<void>;

  /** Stores an artifact (an image with its `content` bytes), or replaces the same id of the same run. */
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
}

// ---------------------------------------------------------------------------------------------
// Webhooks.

/** A webhook: requests to `POST /api/webhooks/{slug}` become events through its template. */
export interface Webhook {
  id: string;
  /** Its address and its secret: whoever knows it can send events through it. */
  slug: string;
  name: string;
  /** A JSONata expression over the request body (`$headers`, `$query` bound) giving the event. */
  template: string;
  createdAt: number;
}

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

export type CollisionStrategy = "enqueue" | "cancel-new";

export interface ScheduleRecord {
  id: string;
  deploymentId: string;
  /** A compiled ScheduleSpec (see core/schedule.ts). */
  spec: Record<string, unknown> & { kind: string };
  active: boolean;
}

export interface Deployment {
  id: string;
  name: string;
  flowName: string;
  /** `path/to/module.ts:flowName`, relative to the project root (workers read it from their cwd), or absolute. */
  entrypoint: string;
  description: string | null;
  version: string | null;
  tags: string[];
  /** Defaults merged under each run's own parameters. */
  parameters: Record<string, unknown>;
  /** JSON Schema of the flow's parameters (from its zod schema), for validation and forms. */
  parameterSchema: Record<string, unknown> | null;
  workPool: string | null;
  workQueue: string;
  paused: boolean;
  /** At most this many of its runs Running at once. */
  concurrencyLimit: number | null;
  collisionStrategy: CollisionStrategy;
  /** Retries of a crashed or failed run, resumed durably by a worker. */
  retries: number;
  retryDelayMs: number;
  /** How its runs' processes start (env, cwd), over the work pool's. */
  jobVariables: JobVariables;
  schedules: ScheduleRecord[];
  createdAt: number;
  updatedAt: number;
}

export interface DeploymentInput {
  name: string;
  flowName: string;
  entrypoint: string;
  description?: string | null;
  version?: string | null;
  tags?: string[];
  parameters?: Record<string, unknown>;
  parameterSchema?: Record<string, unknown> | null;
  workPool?: string | null;
  workQueue?: string;
  paused?: boolean;
  concurrencyLimit?: number | null;
  collisionStrategy?: CollisionStrategy;
  retries?: number;
  retryDelayMs?: number;
  jobVariables?: JobVariables;
  /** Replaces the deployment's schedules (compiled specs). */
  schedules?: { spec: ScheduleRecord["spec"]; active?: boolean }[];
}

export interface WorkPool {
  name: string;
  /** "process" now; the type decides how a worker starts a run (see worker/infrastructure.ts). */
  type: string;
  paused: boolean;
  concurrencyLimit: number | null;
  /** Defaults for how its runs' processes start (env, cwd). */
  jobVariables: JobVariables;
  /**
   * Environment variables that change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD,
   * BATON_*…; see core/job-variables.ts) that its runs may set anyway: names or `PREFIX_*`.
   */
  allowEnv: string[];
  createdAt: number;
  queues: WorkQueue[];
}

export interface WorkPoolInput {
  name: string;
  type?: string;
  paused?: boolean;
  concurrencyLimit?: number | null;
  jobVariables?: JobVariables;
  /** Replaces the pool's `allowEnv` (default: kept, or none for a new pool). */
  allowEnv?: string[];
}

export interface WorkQueue {
  poolName: string;
  name: string;
  /** 1 is served first. */
  priority: number;
  concurrencyLimit: number | null;
  paused: boolean;
}

export interface WorkerRecord {
  id: string;
  name: string;
  poolName: string;
  runLimit: number | null;
  heartbeatAt: number;
  /** The worker's heartbeat interval: three missed beats and its runs are Crashed. */
  heartbeatMs: number | null;
  createdAt: number;
}

/** What a worker registers with. */
export interface WorkerRegistration {
  id: string;
  name: string;
  poolName: string;
  runLimit: number | null;
  heartbeatMs?: number | null;
}

export interface ConcurrencyLimit {
  name: string;
  limit: number;
  /**
   * Rate limit: slots are not released but free themselves, one every 1/decay s (a leaky
   * bucket): a sustained `slotDecayPerSecond` slots per second, in bursts of up to `limit`.
   */
  slotDecayPerSecond: number | null;
  activeSlots: number;
  holders: { leaseId: string; holder: string; slots: number; expiresAt: number }[];
  createdAt: number;
}

export interface Lease {
  id: string;
  limitName: string;
  holder: string;
  slots: number;
  expiresAt: number;
}

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
  upsertWorkPool(pool: WorkPoolInput): Promise<WorkPool>;
  upsertWorkQueue(queue: { poolName: string; name: string; priority?: number; concurrencyLimit?: number | null; paused?: boolean }): Promise<WorkQueue>;
  getWorkPool(name: string): Promise<WorkPool | undefined>;
  listWorkPools(): Promise<WorkPool[]>;
  deleteWorkPool(name: string): Promise<boolean>;
  registerWorker(worker: WorkerRegistration): Promise<WorkerRecord>;
  heartbeatWorker(id: string, at: number): Promise<void>;
  listWorkers(poolName?: string): Promise<WorkerRecord[]>;
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
   * how many it made.
   */
  scheduleRuns(deployment: Deployment, runs: readonly NewFlowRun[]): Promise<number>;
  /** Marks Late the Scheduled runs due more than `lateAfterMs` ago; returns their ids. */
  markLateRuns(now: number, lateAfterMs: number): Promise<string[]>;
}
