/**
 * 0024: result blobs in the database (BATON_RESULTS_URL=db, the default on PostgreSQL), so a
 * large result written on one machine is readable on every other that shares the database.
 * A blob is its sha256 and its bytes in chunks of at most 1 MiB (`chunk` 0, 1, …), all written in
 * one transaction; `created_at` of chunk 0 is when it was stored or last renewed (a writer of the
 * same bytes renews it), which collection compares with its grace period. (0023 is another
 * branch's migration: the migrator accepts either order.) Never edit.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("result_blobs")
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("chunk", "integer", (c) => c.notNull())
    .addColumn("bytes", dialect === "postgres" ? "bytea" : "blob", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("result_blobs_pk", ["sha256", "chunk"])
    .execute();
  // Collection's scan: chunk 0 of blobs older than the grace period.
  await db.schema.createIndex("result_blobs_age").on("result_blobs").columns(["chunk", "created_at"]).execute();
  // Collection asks whether any row still points at a blob.
  await db.schema.createIndex("results_path").on("results").column("path").execute();
}
