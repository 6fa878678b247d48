/**
 * Deployment retries: a run of a deployment that ended Crashed or Failed, with retries left, is
 * scheduled again (AwaitingRetry) so that a worker claims it and resumes it durably (its
 * finished task runs are reused).
 *
 * The store applies this in the same transaction as the transition that ended the run, whoever
 * proposed it (the run's own process, its worker, a crash sweep in any process, the API), so no
 * path can end a deployment run without its retry. Retries are counted apart from the run count:
 * a run whose process never started (a missing working directory) uses a retry too, so a run
 * that cannot start stops after `retries` attempts instead of looping.
 */
import { makeState, type State } from "./states.ts";

/** Errors that say a retry would fail the same way (a pause nobody answered would only ask again). */
const NOT_RETRIED_ERRORS: ReadonlySet<string> = new Set(["NonRetryableError", "ParameterValidationError", "BatonConfigError", "PauseTimeoutError"]);

/** The longest reason quoted from the ended state in the AwaitingRetry message. */
const REASON_CHARS = 300;

export interface DeploymentRetryInput {
  /** The state the run just entered. */
  ended: Pick<State, "type" | "name" | "message" | "timestamp">;
  /** Name of the error stored with the run, if any. */
  errorName: string | null;
  /** The deployment's settings; null when the run has no deployment (or it was deleted). */
  deployment: { retries: number; retryDelayMs: number } | null;
  /** Retries this run has used so far. */
  retriesUsed: number;
  now: number;
}

/** The AwaitingRetry state to move to, or null when the run stays where it ended. */
export function deploymentRetryState(input: DeploymentRetryInput): State | null {
  const { ended, deployment } = input;
  if (!deployment || (ended.type !== "CRASHED" && ended.type !== "FAILED")) return null;
  if (input.errorName !== null && NOT_RETRIED_ERRORS.has(input.errorName)) return null;
  if (input.retriesUsed >= deployment.retries) return null;
  const reason = ended.message ? `: ${ended.message.length > REASON_CHARS ? `${ended.message.slice(0, REASON_CHARS)}…` : ended.message}` : "";
  return makeState("AwaitingRetry", {
    // The ended state's time: a proposal sent again after a lost answer recognises its outcome.
    timestamp: ended.timestamp,
    scheduledAt: input.now + deployment.retryDelayMs,
    message: `retry ${input.retriesUsed + 1} of ${deployment.retries} after ${ended.name}${reason}`,
  });
}

/**
 * Whether `proposed` is what the run already holds — the same state at the same timestamp, or
 * the deployment retry it led to: a proposal sent again after its answer was lost was applied.
 */
export function proposalAlreadyApplied(current: Pick<State, "type" | "name" | "timestamp">, proposed: Pick<State, "type" | "name" | "timestamp">): boolean {
  if (current.timestamp !== proposed.timestamp) return false;
  return current.name === proposed.name || (current.name === "AwaitingRetry" && (proposed.type === "CRASHED" || proposed.type === "FAILED"));
}
