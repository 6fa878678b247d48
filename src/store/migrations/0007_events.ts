/**
 * 0007: the durable event log. `events` holds each event once (its UUIDv7 `id` is unique, so a
 * retried emit is stored once) in `seq` order; `event_resources` indexes every resource an event
 * is about or related to, so "the events of this deployment" is an index lookup. Never edit.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const serial = dialect === "postgres" ? "bigserial" : "integer";
  await db.schema
    .createTable("events")
    .addColumn("seq", serial, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("occurred", "bigint", (c) => c.notNull())
    .addColumn("received", "bigint", (c) => c.notNull())
    .addColumn("event", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("resource", "text", (c) => c.notNull())
    .addColumn("related", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("payload", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await db.schema.createIndex("events_event_seq").on("events").columns(["event", "seq"]).execute();
  await db.schema.createIndex("events_occurred").on("events").column("occurred").execute();
  await db.schema
    .createTable("event_resources")
    .addColumn("event_seq", "bigint", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    // Lookups by resource id, in log order; an event re-sent (same id) adds nothing.
    .addPrimaryKeyConstraint("event_resources_pk", ["resource_id", "event_seq", "role"])
    .execute();
  await db.schema.createIndex("event_resources_event").on("event_resources").column("event_seq").execute();
}
