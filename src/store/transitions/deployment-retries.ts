/**
 * The deployment-retry reaction of the transition primitive (the rule is in
 * core/deployment-retry.ts): runs that just ended Crashed or Failed, of deployments with retries
 * left, are proposed AwaitingRetry — a transition like any other, in the same transaction as the
 * one that ended them, so a run that ends through its own process, its worker, the API or a crash
 * sweep in any process is rescheduled in the same commit or not at all.
 */
import { deploymentRetryState } from "../../core/deployment-retry.ts";
import type { State } from "../../core/states.ts";
import type { FlowRunProposal, Tx } from "./host.ts";

export interface EndedRun {
  id: string;
  deploymentId: string | null;
  retriesUsed: number;
  /** The state the run just entered. */
  ended: State;
  errorName: string | null;
}

/** The AwaitingRetry proposals for the runs that have retries left. */
export async function deploymentRetryProposals(tx: Tx, runs: readonly EndedRun[], now: number): Promise<FlowRunProposal[]> {
  const ofDeployments = runs.filter((r) => r.deploymentId !== null);
  if (ofDeployments.length === 0) return [];
  const ids = [...new Set(ofDeployments.map((r) => r.deploymentId!))];
  const deployments = new Map(
    (await tx.selectFrom("deployments").select(["id", "retries", "retry_delay_ms"]).where("id", "in", ids).execute()).map((d) => [
      d.id,
      { retries: Number(d.retries), retryDelayMs: Number(d.retry_delay_ms) },
    ]),
  );
  const proposals: FlowRunProposal[] = [];
  for (const run of ofDeployments) {
    const state = deploymentRetryState({ ended: run.ended, errorName: run.errorName, deployment: deployments.get(run.deploymentId!) ?? null, retriesUsed: run.retriesUsed, now });
    if (state) proposals.push({ id: run.id, state, fields: { retriesUsed: run.retriesUsed + 1 } });
  }
  return proposals;
}
