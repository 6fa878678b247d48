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
  // A run that crashed before it started (its worker died after claiming it) used an attempt too.
  const attempts = Math.max(run.runCount, 1);
  if (!deployment || attempts > deployment.retries) return null;
  const result = await store.setFlowRunState(
    run.id,
    makeState("AwaitingRetry", { scheduledAt: now + deployment.retryDelayMs, message: `retry ${attempts} of ${deployment.retries} after ${run.state.name}` }),
  );
  return result.accepted ? result.run : null;
}
