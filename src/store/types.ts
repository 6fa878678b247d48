/**
 * The Store interface: everything the engine (and later the server) persists goes through it.
 * Two implementations share one Kysely schema (SQLite and PostgreSQL); a remote client that
 * speaks to the server implements the same interface.
 * Times are epoch milliseconds; JSON-ish columns hold text.
 */
import type { State, StateName, StateType } from "../core/states.ts";
import type { ErrorInfo } from "../core/errors.ts";

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
  /** How many times the run has been started (1 on the first run; resumes add one). */
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
  | { kind: "taskRun"; taskRun: TaskRun; /** the transition was forced (skips the policy on the server) */ force?: boolean }
  | { kind: "state"; state: Omit<StateRecord, "id"> }
  | { kind: "dependency"; dependency: TaskDependency }
  | { kind: "result"; result: ResultRecord }
  | { kind: "cache"; entry: CacheEntry }
  | { kind: "log"; log: LogRecord };

export interface FlowRunFilter {
  flowName?: string;
  stateTypes?: StateType[];
  stateNames?: StateName[];
  parentFlowRunId?: string;
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

/** The newest ids of the append-only tables, for tailing them. */
export interface TailPosition {
  stateId: number;
  logId: number;
}

export interface SetStateOptions {
  force?: boolean;
  /** With a RUNNING state: the heartbeat interval the running process promises. */
  heartbeatMs?: number;
  /** Fields to update along with the state. */
  resultId?: string | null;
  error?: ErrorInfo | null;
  runCount?: number;
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
  state: State;
}

export interface Store {
  /** "sqlite" or "postgres" (or "remote"). */
  readonly dialect: string;
  /** Where the store lives, for messages (no password). */
  readonly location: string;
  migrate(): Promise<void>;
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
  /** Deletes a flow run with its task runs, states, dependencies and logs. False if absent. */
  deleteFlowRun(id: string): Promise<boolean>;
  /** Proposes a state through the orchestration rules, atomically. */
  setFlowRunState(id: string, state: State, options?: SetStateOptions): Promise<SetStateResult>;
  /** Records a heartbeat; returns the run's current state type (so a runner sees a cancel). */
  heartbeatFlowRun(id: string, at: number): Promise<StateType | undefined>;
  /**
   * Marks Crashed every RUNNING or CANCELLING flow run that missed `missedBeats` (default 3)
   * heartbeats of its own interval by `now` (and its unfinished task runs). Returns their ids.
   */
  crashStaleFlowRuns(now: number, options?: { onlyId?: string; missedBeats?: number }): Promise<string[]>;

  /**
   * Applies a batch of writes in one transaction. With `batchId`, a batch already applied
   * under that id is skipped (returns false): retries of a request are applied once.
   */
  applyWrites(ops: readonly WriteOp[], options?: { batchId?: string }): Promise<boolean>;
  /** Whether a batch with this id was applied. */
  batchApplied(batchId: string): Promise<boolean>;
  getTaskRun(id: string): Promise<TaskRun | undefined>;
  /** The task runs among `ids` that exist. */
  getTaskRuns(ids: readonly string[]): Promise<TaskRun[]>;
  listTaskRuns(flowRunId: string): Promise<TaskRun[]>;
  listDependencies(flowRunId: string): Promise<TaskDependency[]>;
  stateHistory(runId: string): Promise<StateRecord[]>;

  getResult(id: string): Promise<ResultRecord | undefined>;
  lookupCache(cacheKey: string, now: number): Promise<CacheEntry | undefined>;

  listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]>;
  /** Deletes logs older than `before` (epoch ms); returns how many. */
  deleteLogsBefore(before: number): Promise<number>;

  /** States and logs written after a position, oldest first: the feed of live events. */
  tail(after: TailPosition, limit: number): Promise<{ states: StateRecord[]; logs: LogRecord[] }>;
  tailPosition(): Promise<TailPosition>;
}
