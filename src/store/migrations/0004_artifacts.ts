/** 0004: artifacts — tables, markdown and links that runs publish for people to read. Never edit. */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("artifacts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("key", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("task_run_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("artifacts_flow_run").on("artifacts").columns(["flow_run_id", "created_at"]).execute();
  await db.schema.createIndex("artifacts_key").on("artifacts").columns(["key", "created_at"]).execute();
}
