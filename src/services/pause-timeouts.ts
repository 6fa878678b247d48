/**
 * The pause timeout sweep (the server's background jobs, and a process waiting in place for its
 * own pause): a Paused run whose timeout passed takes its default input (resumed, by
 * "timeout default") or, without one, ends Failed with a PauseTimeoutError — which deployment
 * retries do not retry (nobody would answer a second time either). Compare-and-set on the
 * Paused state: a resume that wins the race is not undone.
 */
import { PauseTimeoutError, type FlowRunInput } from "../core/flow-run-inputs.ts";
import { makeState } from "../core/states.ts";
import type { RunStore, Store } from "../store/types.ts";

export type PauseTimeoutStore = Pick<RunStore, "supplyFlowRunInput" | "setFlowRunState">;

/** Ends one expired pause; "resumed", "failed", or "changed" (someone else moved the run first). */
export async function expirePause(runs: PauseTimeoutStore, pause: FlowRunInput): Promise<"resumed" | "failed" | "changed"> {
  const pausedAt = pause.createdAt;
  if (pause.default !== undefined) {
    const result = await runs.supplyFlowRunInput(pause.flowRunId, pause.key, pause.default, { by: "timeout default", pausedAt });
    return result.accepted ? "resumed" : "changed";
  }
  const error = new PauseTimeoutError(pause.flowRunId, pause.key, pause.timeoutAt ?? pausedAt);
  const failed = makeState("Failed", { message: error.message });
  const result = await runs.setFlowRunState(pause.flowRunId, failed, { error: { name: error.name, message: error.message }, expect: { stateTimestamp: pausedAt } });
  return result.accepted ? "failed" : "changed";
}

/** Ends every pause whose timeout passed by `now`; returns the runs resumed and failed. */
export async function expirePauses(store: Pick<Store, "listExpiredPauses"> & PauseTimeoutStore, now: number): Promise<{ resumed: string[]; failed: string[] }> {
  const resumed: string[] = [];
  const failed: string[] = [];
  for (const pause of await store.listExpiredPauses(now)) {
    const outcome = await expirePause(store, pause);
    if (outcome === "resumed") resumed.push(pause.flowRunId);
    if (outcome === "failed") failed.push(pause.flowRunId);
  }
  return { resumed, failed };
}
