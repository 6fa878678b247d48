/**
 * What runs logged (`logParams`, `logMetric`), written in the store's transaction: a run joins
 * its experiment once, a parameter or a metric's step logged again replaces its value — so a
 * batch applied twice stores the same. The reads are experiment-store.ts'.
 */
import type { RunValues } from "../core/experiments.ts";
import type { Tx } from "./transitions/host.ts";

/** Writes a batch of logged values in the caller's transaction. */
export async function writeRunValues(tx: Tx, batch: readonly RunValues[], now: number): Promise<void> {
  for (const v of batch) {
    const runId = v.taskRunId ?? v.flowRunId;
    await tx
      .insertInto("experiment_runs")
      .values({ run_id: runId, flow_run_id: v.flowRunId, experiment: v.experiment, created_at: now })
      .onConflict((oc) => oc.column("run_id").doNothing())
      .execute();
    const params = Object.entries(v.params);
    if (params.length)
      await tx
        .insertInto("run_params")
        .values(params.map(([key, value]) => ({ run_id: runId, key, value, flow_run_id: v.flowRunId, logged_at: now })))
        .onConflict((oc) => oc.columns(["run_id", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value"), logged_at: eb.ref("excluded.logged_at") })))
        .execute();
    // A statement per few hundred points keeps each under both databases' parameter limits.
    for (let i = 0; i < v.metrics.length; i += 500)
      await tx
        .insertInto("run_metrics")
        .values(v.metrics.slice(i, i + 500).map((m) => ({ run_id: runId, name: m.name, step: m.step, value: m.value, flow_run_id: v.flowRunId, timestamp: m.timestamp })))
        .onConflict((oc) => oc.columns(["run_id", "name", "step"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value"), timestamp: eb.ref("excluded.timestamp") })))
        .execute();
  }
}

/** Deletes what flow runs and their task runs logged (in the caller's transaction). */
export async function deleteRunValues(tx: Tx, flowRunIds: readonly string[]): Promise<void> {
  if (!flowRunIds.length) return;
  const ids = [...flowRunIds];
  await tx.deleteFrom("run_metrics").where("flow_run_id", "in", ids).execute();
  await tx.deleteFrom("run_params").where("flow_run_id", "in", ids).execute();
  await tx.deleteFrom("experiment_runs").where("flow_run_id", "in", ids).execute();
}
