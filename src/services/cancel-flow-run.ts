/**
 * Cancelling a flow run, from the API or the CLI: a run that has not started (Scheduled, Late,
 * Pending, AwaitingRetry…) ends Cancelled at once and is never handed to a worker; a running
 * one goes to Cancelling, and its process (which sees it on its next heartbeat, or its worker
 * on its next check) stops and ends it Cancelled.
 */
import { RunNotFoundError } from "../core/errors.ts";
import { makeState } from "../core/states.ts";
import { refusalError } from "../store/refusal.ts";
import type { FlowRun, RunStore } from "../store/types.ts";

/** The run as it now is; a RunNotFoundError, or an InvalidTransitionError for a run that has ended. */
export async function cancelFlowRun(runs: Pick<RunStore, "getFlowRun" | "setFlowRunState">, id: string, message = "cancelled on request"): Promise<FlowRun> {
  const run = await runs.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  const proposed = makeState(run.state.type === "RUNNING" ? "Cancelling" : "Cancelled", { message });
  const result = await runs.setFlowRunState(id, proposed);
  if (!result.accepted) throw refusalError(id, proposed, result);
  return result.run;
}
