/**
 * 0021: assets and their versions. `asset_versions` holds one row per version of an asset key
 * (unique per key and version name) with its content hash and the run that first produced it
 * (null once that run is deleted: versions outlive runs); `materialized_at` moves when a run
 * produces the same content again, so the latest version is the last one materialised.
 * `asset_version_inputs` is lineage: the versions a version was made from. `asset_run_links`
 * says which runs read (`read`) or produced/confirmed (`wrote`) which versions; `run_id` is
 * the task run, or the flow run when the flow itself materialised. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("asset_versions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("asset_key", "text", (c) => c.notNull())
    .addColumn("version", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("rows", "bigint")
    .addColumn("schema", "text")
    .addColumn("metadata", "text")
    .addColumn("flow_run_id", "text")
    .addColumn("task_run_id", "text")
    // 1 once the producing run was deleted (0: it exists, or the version was made outside a run).
    .addColumn("run_deleted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("materialized_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("asset_versions_key_version", ["asset_key", "version"])
    .execute();
  // An asset's versions newest first, and its latest (the last materialised).
  await db.schema.createIndex("asset_versions_key_materialized").on("asset_versions").columns(["asset_key", "materialized_at", "id"]).execute();
  await db.schema.createIndex("asset_versions_flow_run").on("asset_versions").column("flow_run_id").execute();

  await db.schema
    .createTable("asset_version_inputs")
    .addColumn("version_id", "text", (c) => c.notNull())
    .addColumn("input_version_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("asset_version_inputs_pk", ["version_id", "input_version_id"])
    .execute();
  // Downstream lineage: what was made from a version.
  await db.schema.createIndex("asset_version_inputs_input").on("asset_version_inputs").column("input_version_id").execute();

  await db.schema
    .createTable("asset_run_links")
    .addColumn("version_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("task_run_id", "text")
    .addColumn("at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("asset_run_links_pk", ["version_id", "run_id", "kind"])
    .execute();
  await db.schema.createIndex("asset_run_links_run").on("asset_run_links").columns(["run_id", "kind"]).execute();
  await db.schema.createIndex("asset_run_links_flow_run").on("asset_run_links").column("flow_run_id").execute();
}
