/**
 * 0015: the runs of one deployment and of one worker, newest first (a deployment's page, a
 * worker's page, `GET /api/flow-runs?deployment=…|worker=…`), read a range of an index instead
 * of walking every run by creation time and keeping those that match. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("flow_runs_deployment_created").on("flow_runs").columns(["deployment_id", "created_at", "id"]).execute();
  await db.schema.createIndex("flow_runs_worker_created").on("flow_runs").columns(["worker_id", "created_at", "id"]).execute();
}
