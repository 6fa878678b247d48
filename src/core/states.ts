/**
 * Run states, modelled as Prefect does: a coarse `type` that the orchestration rules reason
 * about, and a finer `name` that people read ("Late" is a SCHEDULED run, "Cached" a COMPLETED one).
 */

/** The nine state types. */
export const StateType = {
  /** Waiting for a start time (a schedule, or a retry delay). */
  SCHEDULED: "SCHEDULED",
  /** Created, waiting for dependencies, a concurrency slot or a worker. */
  PENDING: "PENDING",
  /** User code is executing. */
  RUNNING: "RUNNING",
  /** Suspended until resumed by someone. */
  PAUSED: "PAUSED",
  /** Cancellation was requested; the run is stopping. */
  CANCELLING: "CANCELLING",
  /** Finished and produced a result. */
  COMPLETED: "COMPLETED",
  /** User code threw, or timed out. */
  FAILED: "FAILED",
  /** Stopped on request. */
  CANCELLED: "CANCELLED",
  /** The process running it died (missed heartbeats, SIGKILL, power loss). */
  CRASHED: "CRASHED",
} as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** Human-facing state names and the type each belongs to. */
export const StateName = {
  Scheduled: "Scheduled",
  Late: "Late",
  AwaitingRetry: "AwaitingRetry",
  Pending: "Pending",
  Running: "Running",
  Retrying: "Retrying",
  Paused: "Paused",
  Cancelling: "Cancelling",
  Completed: "Completed",
  Cached: "Cached",
  Failed: "Failed",
  TimedOut: "TimedOut",
  Cancelled: "Cancelled",
  Crashed: "Crashed",
} as const;
export type StateName = (typeof StateName)[keyof typeof StateName];

/** The type of each state name. */
export const STATE_NAME_TYPE: Readonly<Record<StateName, StateType>> = {
  Scheduled: "SCHEDULED",
  Late: "SCHEDULED",
  AwaitingRetry: "SCHEDULED",
  Pending: "PENDING",
  Running: "RUNNING",
  Retrying: "RUNNING",
  Paused: "PAUSED",
  Cancelling: "CANCELLING",
  Completed: "COMPLETED",
  Cached: "COMPLETED",
  Failed: "FAILED",
  TimedOut: "FAILED",
  Cancelled: "CANCELLED",
  Crashed: "CRASHED",
};

export const STATE_TYPES: readonly StateType[] = Object.values(StateType);
export const STATE_NAMES: readonly StateName[] = Object.values(StateName);

/** Types from which a run never moves on by itself. */
export const TERMINAL_TYPES: ReadonlySet<StateType> = new Set<StateType>([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "CRASHED",
]);

export function isTerminal(type: StateType): boolean {
  return TERMINAL_TYPES.has(type);
}

/** A run's state at one moment; every transition stores one of these in the history. */
export interface State {
  type: StateType;
  name: StateName;
  /** Milliseconds since the epoch. */
  timestamp: number;
  message?: string | null;
  /** For SCHEDULED states: when the run is due (epoch ms). */
  scheduledAt?: number | null;
}

/** Builds a state by its name, deriving the type. */
export function makeState(
  name: StateName,
  fields: { message?: string | null; timestamp?: number; scheduledAt?: number | null } = {},
): State {
  const type = STATE_NAME_TYPE[name];
  if (!type) throw new TypeError(`unknown state name "${String(name)}"; expected one of ${STATE_NAMES.join(", ")}`);
  return {
    type,
    name,
    timestamp: fields.timestamp ?? Date.now(),
    message: fields.message ?? null,
    scheduledAt: fields.scheduledAt ?? null,
  };
}
