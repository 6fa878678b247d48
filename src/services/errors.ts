/**
 * Why a use case refused a request. Each error says what the caller can fix; `reason` tells an
 * adapter how to answer it (the API: 404, 400, 409 with `code` and `details`; the CLI prints
 * the message), so no adapter re-words a refusal of its own.
 */
import { BatonError } from "../core/errors.ts";

export abstract class ServiceError extends BatonError {
  /** "not-found": it names something that does not exist; "invalid": fix the input; "conflict": the thing's state forbids it. */
  abstract readonly reason: "not-found" | "invalid" | "conflict";
  /** A stable name for clients (the API's error code). */
  abstract readonly code: string;
  /** Structured facts about the refusal (the API's error details). */
  readonly details: unknown = null;
}

/** A deployment named by id or name does not exist. */
export class DeploymentNotFoundError extends ServiceError {
  override name = "DeploymentNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(readonly idOrName: string) {
    super(`deployment "${idOrName}" does not exist`);
  }
}

/** A run's parameters fail its deployment's JSON Schema; the message names each field. */
export class InvalidParametersError extends ServiceError {
  override name = "InvalidParametersError";
  readonly reason = "invalid";
  readonly code = "INVALID_PARAMETERS";
  constructor(
    message: string,
    /** Each issue's path, keyword and params. */
    override readonly details: unknown[],
  ) {
    super(message);
  }
}

/**
 * Job variables set an environment variable that changes how a run's process loads code
 * (NODE_OPTIONS, LD_PRELOAD, BATON_*…) which the run's work pool does not allow.
 */
export class RefusedEnvironmentError extends ServiceError {
  override name = "RefusedEnvironmentError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
  constructor(
    message: string,
    override readonly details: { field: string; allowEnv: readonly string[] },
  ) {
    super(message);
  }
}

/** A run asked to be retried by a worker has no work pool or no entrypoint: no worker could pick it up. */
export class NoWorkerCanRunError extends ServiceError {
  override name = "NoWorkerCanRunError";
  readonly reason = "conflict";
  readonly code = "NO_WORKER_CAN_RUN_IT";
  constructor(
    readonly runId: string,
    override readonly details: { workPool: string | null; entrypoint: string | null },
    command: "retry" | "rerun" = "retry",
  ) {
    super(
      `flow run ${runId} ${!details.workPool ? "has no work pool" : "did not record its entrypoint"}, so no worker can pick it up: ` +
        `${command === "retry" ? "resume" : "re-run"} it with \`baton flow-run ${command} ${runId}\` on a machine that has the flow's code`,
    );
  }
}

/** A child flow run is re-run by its parent, not on its own. */
export class RerunOfChildError extends ServiceError {
  override name = "RerunOfChildError";
  readonly reason = "conflict";
  readonly code = "CHILD_RUN";
  constructor(
    readonly runId: string,
    readonly parentFlowRunId: string,
  ) {
    super(`flow run ${runId} is a child of flow run ${parentFlowRunId}: re-run the parent (baton flow-run rerun ${parentFlowRunId}), which makes its children again`);
  }
}

/** A run asked to be resumed with input is not waiting for any (not Paused, or paused without a request, or for another key). */
export class NotPausedError extends ServiceError {
  override name = "NotPausedError";
  readonly reason = "conflict";
  readonly code = "NOT_PAUSED";
  constructor(
    readonly runId: string,
    override readonly details: { state: string; key: string | null },
    why: string,
  ) {
    super(`flow run ${runId} ${why}`);
  }
}

/** Input given to a paused run fails the JSON Schema of its request; the message names each field. */
export class InvalidInputError extends ServiceError {
  override name = "InvalidInputError";
  readonly reason = "invalid";
  readonly code = "INVALID_INPUT";
  constructor(
    message: string,
    /** Each issue's path, keyword and params. */
    override readonly details: unknown[],
  ) {
    super(message);
  }
}

/** A run asked for a work queue its deployment's work pool does not have (or the deployment has no pool). */
export class UnknownWorkQueueError extends ServiceError {
  override name = "UnknownWorkQueueError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
  constructor(
    field: string,
    override readonly details: { workQueue: string; workPool: string | null; queues: readonly string[] },
  ) {
    super(
      details.workPool === null
        ? `${field}: the deployment has no work pool, so its runs have no queue to choose`
        : `${field}: work pool "${details.workPool}" has no queue "${details.workQueue}"; its queues are ${details.queues.map((q) => `"${q}"`).join(", ") || "none"}`,
    );
  }
}

/** A reference to a run (an id prefix, a name, a task key) matches several: the message lists them so the caller can pick one. */
export class AmbiguousReferenceError extends ServiceError {
  override name = "AmbiguousReferenceError";
  readonly reason = "invalid";
  readonly code = "AMBIGUOUS_REFERENCE";
  constructor(
    readonly kind: "flow run" | "task run",
    readonly reference: string,
    override readonly details: { candidates: { id: string; name: string }[]; more: boolean },
  ) {
    const listed = details.candidates.map((c) => `${c.id} (${c.name})`).join(", ");
    super(`"${reference}" names ${details.more ? "more than " : ""}${details.candidates.length} ${kind}s: ${listed}${details.more ? ", …" : ""}; give more of the id, or the whole id`);
  }
}
