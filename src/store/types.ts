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
  | { kind: "taskRun"; taskRun: TaskRun }
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
  limit?: number;
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

  createFlowRun(run: NewFlowRun): Promise<FlowRun>;
  getFlowRun(id: string): Promise<FlowRun | undefined>;
  listFlowRuns(filter?: FlowRunFilter): Promise<FlowRun[]>;
  /** Proposes a state through the orchestration rules, atomically. */
  setFlowRunState(id: string, state: State, options?: SetStateOptions): Promise<SetStateResult>;
  heartbeatFlowRun(id: string, at: number): Promise<void>;
  /**
   * Marks Crashed every RUNNING or CANCELLING flow run that missed `missedBeats` (default 3)
   * heartbeats of its own interval by `now` (and its unfinished task runs). Returns their ids.
   */
  crashStaleFlowRuns(now: number, options?: { onlyId?: string; missedBeats?: number }): Promise<string[]>;

  /** Applies a batch of writes in one transaction. */
  applyWrites(ops: readonly WriteOp[]): Promise<void>;
  getTaskRun(id: string): Promise<TaskRun | undefined>;
  listTaskRuns(flowRunId: string): Promise<TaskRun[]>;
  listDependencies(flowRunId: string): Promise<TaskDependency[]>;
  stateHistory(runId: string): Promise<StateRecord[]>;

  getResult(id: string): Promise<ResultRecord | undefined>;
  lookupCache(cacheKey: string, now: number): Promise<CacheEntry | undefined>;

  listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]>;
}
