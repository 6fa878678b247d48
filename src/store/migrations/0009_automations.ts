/**
 * 0009: automations. `automations` holds each spec as written (JSON); `automation_buckets` the
 * trigger state of each bucket (a `for_each` value, or ""); `automation_firings` every firing
 * with the events that caused it; `automation_actions` the outbox of actions to run after a
 * firing commits, with their attempts; `automation_cursor` how far the evaluator has read the
 * event log. The cursor, the buckets and the firings change in one transaction, so a restart
 * neither loses nor repeats a window. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("automations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("active_since", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("automation_buckets")
    .addColumn("automation_id", "text", (c) => c.notNull())
    .addColumn("bucket", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("automation_buckets_pk", ["automation_id", "bucket"])
    .execute();
  await db.schema
    .createTable("automation_firings")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("automation_id", "text", (c) => c.notNull())
    .addColumn("bucket", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("fired_at", "bigint", (c) => c.notNull())
    .addColumn("window_start", "bigint", (c) => c.notNull())
    .addColumn("window_end", "bigint", (c) => c.notNull())
    .addColumn("events", "text", (c) => c.notNull())
    .addColumn("event", "text")
    .execute();
  await db.schema.createIndex("automation_firings_automation").on("automation_firings").columns(["automation_id", "fired_at"]).execute();
  await db.schema
    .createTable("automation_actions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("firing_id", "text", (c) => c.notNull())
    .addColumn("automation_id", "text", (c) => c.notNull())
    .addColumn("action_index", "integer", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
    .addColumn("outcomes", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("automation_actions_due").on("automation_actions").columns(["status", "next_attempt_at"]).execute();
  await db.schema.createIndex("automation_actions_firing").on("automation_actions").column("firing_id").execute();
  await db.schema
    .createTable("automation_cursor")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("position", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}
