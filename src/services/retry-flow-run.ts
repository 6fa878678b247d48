/**
 * Retrying a flow run through a worker (the API's retry): a Failed, Crashed or Cancelled run of
 * a work pool becomes AwaitingRetry, due now; a worker of its pool claims it and resumes it
 * (finished tasks are reused). Resuming a run here, where the flow's code is, is the engine's
 * (`baton flow-run retry`, `flow.resume(id)`).
 */
import { RunNotFoundError } from "../core/errors.ts";
import { makeState } from "../core/states.ts";
import { refusalError } from "../store/refusal.ts";
import type { FlowRun, RunStore } from "../store/types.ts";
import { NoWorkerCanRunError } from "./errors.ts";

/**
 * The run as it now is. A RunNotFoundError; a NoWorkerCanRunError (the run left as it is) for
 * a run without a work pool or an entrypoint, which AwaitingRetry would leave waiting forever;
 * an InvalidTransitionError for a run the rules do not let retry (one still running).
 */
export async function retryFlowRun(runs: Pick<RunStore, "getFlowRun" | "setFlowRunState">, id: string, message = "retry requested"): Promise<FlowRun> {
  const run = await runs.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  if (!run.workPool || !run.entrypoint) throw new NoWorkerCanRunError(run.id, { workPool: run.workPool, entrypoint: run.entrypoint });
  const retry = makeState("AwaitingRetry", { scheduledAt: Date.now(), message });
  const result = await runs.setFlowRunState(run.id, retry);
  if (!result.accepted) throw refusalError(run.id, retry, result);
  return result.run;
}
