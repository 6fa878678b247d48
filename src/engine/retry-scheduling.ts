/**
 * Deployment retries: a run of a deployment that ended Crashed or Failed, with retries left,
 * is scheduled again (AwaitingRetry) so a worker claims it and resumes it durably: its finished
 * task runs are reused.
 */
import { makeState } from "../core/states.ts";
import type { FlowRun, OrchestrationStore, Store } from "../store/types.ts";

export async function scheduleRetryIfAllowed(store: Store, orchestration: OrchestrationStore, run: FlowRun, now = Date.now()): Promise<FlowRun | null> {
  if (!run.deploymentId || (run.state.type !== "CRASHED" && run.state.type !== "FAILED")) return null;
  const deployment = await orchestration.getDeployment(run.deploymentId);
  if (!deployment || run.runCount > deployment.retries) return null;
  const result = await store.setFlowRunState(
    run.id,
    makeState("AwaitingRetry", { scheduledAt: now + deployment.retryDelayMs, message: `retry ${run.runCount} of ${deployment.retries} after ${run.state.name}` }),
  );
  return result.accepted ? result.run : null;
}
