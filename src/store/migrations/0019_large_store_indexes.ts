/**
 * 0019: run retention (store/run-retention.ts) unlinks the child flow runs of the task runs it
 * deletes; without an index that was a scan of every flow run per batch (seen in the query plans
 * of bench/large-store.ts's million-run store). Partial: only child runs have a parent task
 * run, so the runs table's writes barely pay for it. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex("flow_runs_parent_task")
    .on("flow_runs")
    .column("parent_task_run_id")
    .where((eb) => eb("parent_task_run_id", "is not", null))
    .execute();
}
