/**
 * Run retention on demand (`baton flow-run prune`, `POST /api/flow-runs/prune`): deletes flow
 * runs in a final state that ended before a cut-off, with everything they own. In front of the
 * database here; the remote client (client/remote-run-retention.ts) offers the same interface
 * over the API. Calls are bounded (`limit`): a caller loops while `more`.
 */
import { parseDuration } from "../core/durations.ts";
import type { KyselyRunRetention } from "../store/run-retention.ts";
import { PRUNE_MAX_RUNS_PER_CALL, type FlowRunPrune, type FlowRunPruneAnswer } from "../schemas/flow-run-prune.ts";

/** Pruning flow runs: on the database, or through the server. */
export interface FlowRunPruner {
  prune(request: FlowRunPrune): Promise<FlowRunPruneAnswer>;
}

/**
 * The cut-off of `--older-than` (`30d`, `12h`) from `now`; a TypeError naming `field` for
 * anything but a duration greater than zero.
 */
export function olderThanCutoff(text: string, now: number, field = "--older-than"): number {
  const ms = parseDuration(text, field);
  if (ms <= 0) throw new TypeError(`${field} must be greater than 0 (it would delete every finished run), got ${JSON.stringify(text)}`);
  return now - ms;
}

/** The request checked against the server's clock; each TypeError names the field. */
export function compilePruneRequest(request: FlowRunPrune, now: number): Required<FlowRunPrune> {
  // A cut-off in the future would also take runs that end from now on: surely a clock or unit mistake.
  if (request.endedBefore > now) throw new TypeError(`endedBefore is ${new Date(request.endedBefore).toISOString()}, in the future (now ${new Date(now).toISOString()})`);
  return { endedBefore: request.endedBefore, dryRun: request.dryRun ?? false, limit: request.limit ?? PRUNE_MAX_RUNS_PER_CALL };
}

/** Pruning on the database. */
export function localFlowRunPruner(retention: KyselyRunRetention, clock: () => number = Date.now): FlowRunPruner {
  return {
    async prune(request) {
      const { endedBefore, dryRun, limit } = compilePruneRequest(request, clock());
      if (dryRun) return { endedBefore, dryRun, ...(await retention.count(endedBefore)), more: false };
      return { endedBefore, dryRun, ...(await retention.prune(endedBefore, { maxFlowRuns: limit })) };
    },
  };
}
