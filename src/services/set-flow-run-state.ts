/**
 * Proposing a state for a flow run on someone's behalf (the API's set-state: a run's process in
 * remote mode, a worker, or an admin who forces a state past the rules). The transition
 * primitive decides; a refusal becomes the one refusal error.
 */
import { makeState, type StateName } from "../core/states.ts";
import { refusalError } from "../store/refusal.ts";
import type { FlowRun, RunStore, SetStateOptions } from "../store/types.ts";

/** A proposed state as a request states it: the rest (its type, a missing timestamp) is filled in. */
export interface StateProposal {
  name: StateName;
  message?: string | null;
  scheduledAt?: number | null;
  /** Default: now. */
  timestamp?: number;
}

/**
 * The run as it now is; a RunNotFoundError, or an InvalidTransitionError naming the rule that
 * refused it. A Running proposal records this process's clock as the heartbeat (a server's:
 * the one its crash detector reads), not the caller's.
 */
export async function setFlowRunState(runs: Pick<RunStore, "setFlowRunState">, id: string, proposal: StateProposal, options: Omit<SetStateOptions, "heartbeatAt"> = {}): Promise<FlowRun> {
  const proposed = makeState(proposal.name, { message: proposal.message ?? null, scheduledAt: proposal.scheduledAt ?? null, timestamp: proposal.timestamp });
  const result = await runs.setFlowRunState(id, proposed, { ...options, heartbeatAt: Date.now() });
  if (!result.accepted) throw refusalError(id, proposed, result);
  return result.run;
}
