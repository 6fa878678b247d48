/**
 * 0014: artifacts updated in place and images. `updated_at` is when an artifact's data last
 * changed after its creation (progress, appended table rows; null: never); `content` holds an
 * image artifact's bytes (PNG or SVG, at most 2 MiB), served apart from the JSON listings. The
 * index serves the latest artifact of each key and a key's history in pages. Never edit.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("artifacts").addColumn("updated_at", "bigint").execute();
  await db.schema
    .alterTable("artifacts")
    .addColumn("content", dialect === "postgres" ? "bytea" : "blob")
    .execute();
  await db.schema.createIndex("artifacts_key_latest").on("artifacts").columns(["key", "created_at", "id"]).execute();
}
