/**
 * 0013: metric triggers. A firing of a metric trigger records what was measured
 * (`automation_firings.measurement`, JSON, null for event triggers); the measurements select
 * the runs that finished, or were expected to start, in a recent window, so both times get an
 * index. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("automation_firings").addColumn("measurement", "text").execute();
  await db.schema.createIndex("flow_runs_end_time").on("flow_runs").column("end_time").execute();
  await db.schema.createIndex("flow_runs_expected_start").on("flow_runs").column("expected_start_time").execute();
}
