/**
 * What a database store tells an observer (the server's Prometheus metrics) about its writes,
 * after they commit: how long each commit took, the flow runs' transitions and the task runs
 * each write batch carried. An observer sees only this process's writes. Its calls are
 * synchronous and must be cheap (they run on the engine's hot path); a store without an
 * observer pays one null check per commit.
 */
import type { StateName, StateType } from "../core/states.ts";

/** A flow run's accepted transition, as it stands after the move. */
export interface FlowRunMove {
  flowName: string;
  workPool: string | null;
  /** null: the run was created in this state. */
  from: StateType | null;
  toType: StateType;
  toName: StateName;
  /** When the new state began (ms). */
  at: number;
  /** When the run first ran (ms), or null. */
  startTime: number | null;
  /** When it was expected to start (ms): its schedule's time, or null for runs started by hand. */
  expectedStartTime: number | null;
}

/** A task run's snapshot written by a batch: its state, and its times when it ended. */
export interface TaskRunWrite {
  stateType: StateType;
  startTime: number | null;
  endTime: number | null;
}

export interface StoreObserver {
  /** A transaction or write batch committed; `seconds` from its start to its commit. */
  committed(kind: "transaction" | "batch", seconds: number): void;
  /** Flow runs moved, in a transaction that committed. */
  flowRunsMoved(moves: readonly FlowRunMove[]): void;
  /** A write batch committed these task runs' snapshots. */
  taskRunsWritten(writes: readonly TaskRunWrite[]): void;
}
