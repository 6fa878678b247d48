/**
 * 0015: the audit log (core/audit-chain.ts). One row per mutating API call, sign-in and sign-out,
 * and run started by a schedule or an automation; `seq` numbers them from 1 with no gaps (the
 * appender assigns it under a lock), and each row holds the hash of the one before and its own.
 * `targets` is a JSON array of ids, `detail` a JSON object. No route updates or deletes rows.
 * Indexed by time (listings by --since) and by actor. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("audit_log")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("actor_kind", "text", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("actor_name", "text", (c) => c.notNull())
    .addColumn("actor_role", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("targets", "text", (c) => c.notNull())
    .addColumn("status", "integer")
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("client_ip", "text")
    .addColumn("request_id", "text")
    .addColumn("detail", "text")
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_log_at").on("audit_log").column("at").execute();
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_id", "seq"]).execute();
}
