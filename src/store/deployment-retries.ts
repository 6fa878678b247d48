/**
 * The store's after-transition reaction for deployment retries (the rule is in
 * core/deployment-retry.ts). It runs inside the transaction that ended the runs, so a run that
 * ends Crashed or Failed — through its own process, its worker, the API, or a crash sweep in any
 * process — is scheduled again in the same commit or not at all.
 * Inputs: the runs that just ended. Outcome: those with retries left are AwaitingRetry (history
 * row appended, `retries_used` + 1, their pool's workers told); returns their new states by id.
 */
import type { Kysely, Transaction } from "kysely";
import { deploymentRetryState } from "../core/deployment-retry.ts";
import type { State } from "../core/states.ts";
import { decideTransition } from "../core/transitions.ts";
import { storableText } from "./batch-sql.ts";
import type { Database } from "./schema.ts";
import type { StateRecord } from "./types.ts";

type Tx = Kysely<Database> | Transaction<Database>;

export interface EndedRun {
  id: string;
  deploymentId: string | null;
  workPool: string | null;
  retriesUsed: number;
  /** The state the run just entered. */
  ended: State;
  errorName: string | null;
}

export interface RetryWriter {
  insertStates(tx: Tx, states: Omit<StateRecord, "id">[]): Promise<void>;
  notifyRunsDue(tx: Tx, pool: string): Promise<void>;
}

export async function scheduleDeploymentRetries(tx: Tx, runs: readonly EndedRun[], now: number, writer: RetryWriter): Promise<Map<string, { state: State; retriesUsed: number }>> {
  const retried = new Map<string, { state: State; retriesUsed: number }>();
  const ofDeployments = runs.filter((r) => r.deploymentId !== null && (r.ended.type === "CRASHED" || r.ended.type === "FAILED"));
  if (ofDeployments.length === 0) return retried;
  const ids = [...new Set(ofDeployments.map((r) => r.deploymentId!))];
  const deployments = new Map(
    (await tx.selectFrom("deployments").select(["id", "retries", "retry_delay_ms"]).where("id", "in", ids).execute()).map((d) => [
      d.id,
      { retries: Number(d.retries), retryDelayMs: Number(d.retry_delay_ms) },
    ]),
  );
  const states: Omit<StateRecord, "id">[] = [];
  const pools = new Set<string>();
  for (const run of ofDeployments) {
    const next = deploymentRetryState({ ended: run.ended, errorName: run.errorName, deployment: deployments.get(run.deploymentId!) ?? null, retriesUsed: run.retriesUsed, now });
    if (!next || decideTransition({ from: run.ended, to: next, now }).kind !== "accept") continue;
    const retriesUsed = run.retriesUsed + 1;
    await tx
      .updateTable("flow_runs")
      .set({
        state_type: next.type,
        state_name: next.name,
        state_message: storableText(next.message ?? null),
        state_timestamp: next.timestamp,
        scheduled_at: next.scheduledAt ?? null,
        retries_used: retriesUsed,
      })
      .where("id", "=", run.id)
      .execute();
    states.push({ ...next, flowRunId: run.id, taskRunId: null });
    if (run.workPool) pools.add(run.workPool);
    retried.set(run.id, { state: next, retriesUsed });
  }
  if (states.length) await writer.insertStates(tx, states);
  for (const pool of pools) await writer.notifyRunsDue(tx, pool);
  return retried;
}
