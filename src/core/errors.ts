/**
 * Baton's error taxonomy.
 * - Definition-time mistakes: `TypeError`s thrown by option validation (`BatonConfigError` for
 *   settings that are not tied to a function call).
 * - Failures of user code: kept as the run's Failed state (message, stack, cause); `FlowRunError`
 *   is what `await myFlow()` throws for a run that did not complete.
 * - Control errors users throw on purpose: `NonRetryableError` stops retries.
 * Every run error carries the ids of the runs it concerns.
 */
import type { State } from "./states.ts";
import { redact } from "./redaction.ts";

export class BatonError extends Error {
  override name = "BatonError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A setting (environment, config file, URL) is invalid. */
export class BatonConfigError extends BatonError {
  override name = "BatonConfigError";
}

/** BATON_RESULTS_URL names no result storage Baton knows; names the value and the accepted forms. */
export class UnknownResultStorageError extends BatonConfigError {
  override name = "UnknownResultStorageError";
  constructor(readonly url: string) {
    super(`BATON_RESULTS_URL "${url}" is not a result storage: use file:///absolute/path (a folder), db (chunks in Baton's database) or s3://bucket/prefix (an S3-compatible store)`);
  }
}

/** The result storage (a folder, the database, an object store, the API) could not be read or written; names it. */
export class ResultStorageError extends BatonError {
  override name = "ResultStorageError";
  constructor(
    readonly storage: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`result storage ${storage}: ${reason}`, options);
  }
}

/** The store could not be opened or migrated; names the path or URL. */
export class StoreOpenError extends BatonError {
  override name = "StoreOpenError";
  constructor(
    readonly location: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the Baton store at ${location}: ${reason}`, options);
  }
}

/**
 * The database stayed unreachable (refusing connections, restarting, dropping them) for longer
 * than the retry window (BATON_DATABASE_RETRY_MS); `cause` is the driver's last error.
 */
export class DatabaseUnreachableError extends BatonError {
  override name = "DatabaseUnreachableError";
  /** "unreachable for N s (BATON_DATABASE_RETRY_MS): <the driver's last error>" */
  readonly detail: string;
  constructor(
    readonly location: string,
    readonly unreachableMs: number,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? "");
    const seconds = (unreachableMs / 1000).toFixed(unreachableMs < 10_000 ? 1 : 0);
    const detail = `unreachable for ${seconds} s (BATON_DATABASE_RETRY_MS): ${cause}`;
    super(`the database at ${location} was ${detail}`, options);
    this.detail = detail;
  }
}

/**
 * The connection dropped while a transaction's COMMIT was on its way: the database may or may
 * not have applied it, so it is not run again (it might claim or create twice).
 */
export class CommitOutcomeUnknownError extends BatonError {
  override name = "CommitOutcomeUnknownError";
  constructor(location: string, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? "");
    super(`the connection to the database at ${location} dropped while committing a transaction; it may or may not have been applied: ${cause}`, options);
  }
}

/** A run with this id does not exist. */
export class RunNotFoundError extends BatonError {
  override name = "RunNotFoundError";
  constructor(
    readonly kind: "flow run" | "task run",
    readonly id: string,
    /** What to do about it, where the caller knows. */
    hint?: string,
  ) {
    super(`${kind} ${id} was not found${hint ? `; ${hint}` : ""}`);
  }
}

/** A pagination cursor that this store did not issue. */
export class InvalidCursorError extends BatonError {
  override name = "InvalidCursorError";
  constructor(readonly cursor: string) {
    super(`invalid cursor "${cursor.slice(0, 40)}": pass the nextCursor of a previous page`);
  }
}

/** A state change refused by the orchestration rules. */
export class InvalidTransitionError extends BatonError {
  override name = "InvalidTransitionError";
  constructor(
    readonly runId: string,
    /** The run's state when the proposal was decided (null: a run being created). */
    readonly from: string | null,
    /** The proposed state's name. */
    readonly to: string,
    readonly rule: string,
    readonly reason: string,
    /** "reject", "abort" (stop working on the run), or "wait" (propose again after `delayMs`). */
    readonly decision: "reject" | "abort" | "wait" = "reject",
    readonly delayMs: number | null = null,
    what = "flow run",
    /** The run as it is (the API sends it back, so a client sees what it raced with). */
    readonly current: unknown = null,
  ) {
    super(`${what} ${runId} cannot move from ${from ?? "nothing (a new run)"} to ${to}: ${reason}`);
  }
}

/** `await flow(...)` of a run that ended in a state other than Completed. */
export class FlowRunError extends BatonError {
  override name = "FlowRunError";
  constructor(
    readonly flowRunId: string,
    readonly flowName: string,
    readonly state: State,
    options?: { cause?: unknown },
  ) {
    super(`flow run ${flowRunId} of "${flowName}" ended ${state.name}${state.message ? `: ${state.message}` : ""}`, options);
  }
}

/** Awaiting a task run that did not complete (its error is the `cause`). */
export class TaskRunError extends BatonError {
  override name = "TaskRunError";
  constructor(
    readonly taskRunId: string,
    readonly taskName: string,
    readonly state: State,
    options?: { cause?: unknown },
  ) {
    super(`task run ${taskRunId} of "${taskName}" ended ${state.name}${state.message ? `: ${state.message}` : ""}`, options);
  }
}

/** Throw from a task or flow to fail it at once, without using its remaining retries. */
export class NonRetryableError extends BatonError {
  override name = "NonRetryableError";
}

/** A run exceeded its `timeoutMs`. */
export class RunTimeoutError extends BatonError {
  override name = "RunTimeoutError";
  constructor(
    readonly runName: string,
    readonly timeoutMs: number,
  ) {
    super(`"${runName}" timed out after ${timeoutMs} ms`);
  }
}

/** The run was cancelled while it was working. */
export class RunCancelledError extends BatonError {
  override name = "RunCancelledError";
}

/**
 * What the other task runs of a `failFast` flow run end with when one of its task runs failed
 * for good: they are stopped (Cancelled, their state message this error's, starting with
 * `failFast:`) and code awaiting them gets this error. `cause` is the failed task run's
 * `TaskRunError`, which is also the flow run's error.
 */
export class FailFastError extends RunCancelledError {
  override name = "FailFastError";
  constructor(
    readonly failedTaskRunId: string,
    readonly failedTaskName: string,
    options: { cause: TaskRunError },
  ) {
    super(`failFast: task run ${failedTaskRunId} of "${failedTaskName}" ended ${options.cause.state.name}${options.cause.state.message ? ` (${options.cause.state.message})` : ""}, so the flow run stopped its other task runs`, options);
  }
}

/** A value that cannot be stored as a result, parameter or argument. */
export class SerializationError extends BatonError {
  override name = "SerializationError";
}

/** The flow's parameters failed validation against its schema. */
export class ParameterValidationError extends BatonError {
  override name = "ParameterValidationError";
}

/** A plain, storable description of an error: what the Failed state keeps. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  cause?: ErrorInfo;
}

/** What a run stores of an error; secret values the process read are redacted (core/redaction.ts). */
export function describeError(error: unknown, depth = 0): ErrorInfo {
  if (error instanceof Error) {
    const info: ErrorInfo = { name: error.name, message: redact(error.message) };
    if (error.stack) info.stack = redact(error.stack);
    if (error.cause !== undefined && depth < 4) info.cause = describeError(error.cause, depth + 1);
    return info;
  }
  return { name: "NonError", message: redact(typeof error === "string" ? error : safeString(error)) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Classes `errorFromInfo` can restore by name: Baton's own (so a `NonRetryableError` stays one
 * after crossing a thread or the store) and JavaScript's built-in ones. Others come back as an
 * `Error` with their name.
 */
const RESTORABLE_ERRORS: Readonly<Record<string, abstract new (...args: any[]) => Error>> = {
  BatonError,
  BatonConfigError,
  StoreOpenError,
  RunNotFoundError,
  InvalidCursorError,
  InvalidTransitionError,
  FlowRunError,
  TaskRunError,
  NonRetryableError,
  RunTimeoutError,
  RunCancelledError,
  FailFastError,
  SerializationError,
  ParameterValidationError,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds an `Error` from stored info, keeping its class (when known), name, stack and cause. */
export function errorFromInfo(info: ErrorInfo): Error {
  const options = info.cause ? { cause: errorFromInfo(info.cause) } : undefined;
  const known = Object.hasOwn(RESTORABLE_ERRORS, info.name) ? RESTORABLE_ERRORS[info.name]! : Error;
  // An Error made with the class as its prototype, without running the class's constructor
  // (whose arguments differ from class to class): instanceof holds, the message is the original.
  const error = Reflect.construct(Error, [info.message, options], known) as Error;
  error.name = info.name;
  if (info.stack) error.stack = info.stack;
  return error;
}
