/**
 * 0005: each worker's heartbeat interval (a Pending or Running run whose worker missed three
 * beats is Crashed), and job variables (env, cwd: JSON) of work pools, deployments and runs.
 * Never edit once shipped.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("workers").addColumn("heartbeat_ms", "bigint").execute();
  await db.schema.alterTable("work_pools").addColumn("job_variables", "text", (c) => c.notNull().defaultTo("{}")).execute();
  await db.schema.alterTable("deployments").addColumn("job_variables", "text", (c) => c.notNull().defaultTo("{}")).execute();
  // A run's own overrides (null: none); the worker gets pool <- deployment <- run at claim time.
  await db.schema.alterTable("flow_runs").addColumn("job_variables", "text").execute();
}
