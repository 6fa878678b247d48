/**
 * Pausing a flow run for input (`pauseFlowRun`): the request a run stores as it pauses, the
 * answer someone gives, and the errors of the life cycle.
 *
 *   Running --pause--> Paused --input supplied / timeout with a default--> Scheduled --> Running
 *                             \--timeout without a default--> Failed (PauseTimeoutError)
 *
 * A request is keyed within its run (the call order, `pause-1`, `pause-2`…, or the caller's
 * `key`), so when the flow runs again from the start after a resume, each `pauseFlowRun` call
 * finds its own answer and returns it instead of pausing again.
 */
import { BatonError } from "./errors.ts";

/** What a paused run asks for. */
export interface InputRequest {
  /** Unique within the run: the call order (`pause-1`…) or the caller's key. */
  key: string;
  /** JSON Schema the input must pass (from the zod schema); null: any JSON, or none. */
  schema: Record<string, unknown> | null;
  description: string | null;
  /** When the pause times out (epoch ms); null: never. */
  timeoutAt: number | null;
  /** Taken as the input when the timeout passes; absent: the run fails then. */
  default?: unknown;
}

/** A request as stored, with its answer once there is one. */
export interface FlowRunInput extends InputRequest {
  flowRunId: string;
  createdAt: number;
  /** The input given (validated); absent until supplied. */
  input?: unknown;
  suppliedAt: number | null;
  /** Who supplied it: "api", "cli", "automation …", "timeout default". */
  suppliedBy: string | null;
}

/** The key of the `n`th pause of a run (1-based) when the caller gives none. */
export function pauseKey(n: number): string {
  return `pause-${n}`;
}

/** Keys are stored and shown: short, printable. */
export function checkPauseKey(key: string): void {
  if (typeof key !== "string" || key.length === 0 || key.length > 200 || /[\u0000-\u001f]/.test(key))
    throw new TypeError(`pauseFlowRun: options.key must be a non-empty printable string of at most 200 characters, got ${JSON.stringify(key)}`);
}

/**
 * Thrown by `pauseFlowRun` in a run a worker can start again (a deployment's): the flow function
 * unwinds, the run is suspended (Paused, no process, no worker slot) and its process exits. The
 * engine catches it; flow code must let it pass (do not swallow it in a try/catch).
 */
export class FlowRunSuspendedError extends BatonError {
  override name = "FlowRunSuspendedError";
  constructor(
    readonly flowRunId: string,
    readonly request: InputRequest,
  ) {
    super(`flow run ${flowRunId} is suspended until it is resumed with input (pause ${request.key}); a worker starts it again then`);
  }
}

/** The error a run ends Failed with when its pause timed out without a default. */
export class PauseTimeoutError extends BatonError {
  override name = "PauseTimeoutError";
  constructor(
    readonly flowRunId: string,
    readonly key: string,
    timeoutAt: number,
  ) {
    super(`flow run ${flowRunId} was paused for input (${key}) and nobody resumed it before ${new Date(timeoutAt).toISOString()}; give pauseFlowRun a longer timeoutMs or a default`);
  }
}

/** A paused run ended otherwise while its process waited in place (cancelled, failed by a timeout): the flow stops. */
export class PauseEndedError extends BatonError {
  override name = "PauseEndedError";
  constructor(
    readonly flowRunId: string,
    readonly stateName: string,
  ) {
    super(`flow run ${flowRunId} was ${stateName} while it waited for input`);
  }
}

/** The request a Paused run waits on: the pause made with its current state, or undefined. */
export function openInputRequest(run: { state: { type: string; timestamp: number } }, inputs: readonly FlowRunInput[]): FlowRunInput | undefined {
  if (run.state.type !== "PAUSED") return undefined;
  return inputs.find((i) => i.createdAt === run.state.timestamp && i.suppliedAt === null);
}
