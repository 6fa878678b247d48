/**
 * 0002: ids of applied write batches (a batch retried after a lost response applies once), and
 * each flow run's entrypoint (`/path/to/module.ts:flowName`) so it can be resumed by name. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("applied_batches")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("applied_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("applied_batches_applied_at").on("applied_batches").column("applied_at").execute();
  await db.schema.alterTable("flow_runs").addColumn("entrypoint", "text").execute();
  // Run lists are filtered by state name (Failed, Late, Crashed…) and paged newest first.
  await db.schema.createIndex("flow_runs_state_name_created").on("flow_runs").columns(["state_name", "created_at", "id"]).execute();
}
