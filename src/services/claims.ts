/**
 * Claiming due flow runs for a worker. The store hands each run to one worker, atomically
 * (store/claims.ts), and a server may hold a claim open until a run is due (a long-poll:
 * server/claim-waits.ts). A worker that went away while its claim was made (it died, its
 * request timed out) never receives the runs: they go back to the pool at once, Scheduled and
 * due now, rather than stay Pending until the worker's missed heartbeats crash them.
 */
import { makeState } from "../core/states.ts";
import type { ClaimedFlowRun, RunStore } from "../store/types.ts";

export interface ClaimRequest {
  pool: string;
  workerId: string;
  /** At most this many runs. */
  max: number;
  /** Wait up to this long for a run while none is due (ms; 0: answer at once). */
  waitMs: number;
}

/** What hands out runs: the store's claim, or a server's long-polled one; `gone` says whether the worker has left. */
export type Claimer = (request: ClaimRequest, gone: () => boolean) => Promise<ClaimedFlowRun[]>;

/** The runs the worker gets: none when it left before they could be handed to it. */
export async function claimForWorker(claim: Claimer, runs: Pick<RunStore, "setFlowRunState">, request: ClaimRequest, gone: () => boolean): Promise<ClaimedFlowRun[]> {
  const claimed = await claim(request, gone);
  if (claimed.length === 0 || !gone()) return claimed;
  for (const run of claimed) await runs.setFlowRunState(run.id, makeState("Scheduled", { scheduledAt: Date.now(), message: "its worker went away before receiving it" }));
  return [];
}
