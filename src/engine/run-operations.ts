/** Operator actions on flow runs, shared by the API and the CLI (over any Store). */
import { RunNotFoundError } from "../core/errors.ts";
import { refusalError } from "../store/refusal.ts";
import { makeState } from "../core/states.ts";
import type { FlowRun, Store } from "../store/types.ts";

/**
 * Cancels a flow run: a run that has not started ends Cancelled at once; a running one goes to
 * Cancelling, and its process (which sees it on its next heartbeat) stops and ends it Cancelled.
 */
export async function cancelFlowRun(store: Store, id: string, message = "cancelled on request"): Promise<FlowRun> {
  const run = await store.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  const target = run.state.type === "RUNNING" ? "Cancelling" : "Cancelled";
  const proposed = makeState(target, { message });
  const result = await store.setFlowRunState(id, proposed);
  if (!result.accepted) throw refusalError(id, proposed, result);
  return result.run;
}
