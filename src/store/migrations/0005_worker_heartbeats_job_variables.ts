/**
 * 0005: each worker's heartbeat interval (a Pending or Running run whose worker missed three
 * beats is Crashed). Never edit once shipped.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("workers").addColumn("heartbeat_ms", "bigint").execute();
}
