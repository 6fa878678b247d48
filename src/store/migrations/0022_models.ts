/**
 * 0022: the model registry. `models` holds one row per model name with its last version number:
 * registering increments it under the row's lock, so two registrations at once get N+1 and N+2.
 * `model_versions` holds each version's stored value (a result record's fields: inline text or
 * a content-addressed file name, its sha256), metrics, parameters and lineage (the flow run and
 * task run that registered it, their experiment). `model_aliases` says which version each alias
 * (production, staging…) points to; `model_alias_moves` is every move and every refused
 * promotion, in order: rollback walks it back. (0021 is the assets migration of a parallel
 * branch.) Never edit.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("models")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("latest_version", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("model_versions")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("version", "bigint", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("source_path", "text")
    .addColumn("serializer", "text", (c) => c.notNull())
    .addColumn("value", "text")
    .addColumn("path", "text")
    .addColumn("size", "bigint", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("metrics", "text", (c) => c.notNull())
    .addColumn("params", "text", (c) => c.notNull())
    .addColumn("signature", "text")
    .addColumn("description", "text")
    .addColumn("flow_run_id", "text")
    .addColumn("task_run_id", "text")
    .addColumn("experiment", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("model_versions_pk", ["name", "version"])
    .execute();
  await db.schema.createIndex("model_versions_flow_run").on("model_versions").column("flow_run_id").execute();

  await db.schema
    .createTable("model_aliases")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("alias", "text", (c) => c.notNull())
    .addColumn("version", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("model_aliases_pk", ["name", "alias"])
    .execute();

  await db.schema
    .createTable("model_alias_moves")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("alias", "text", (c) => c.notNull())
    // promoted | rolled-back | refused
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("from_version", "bigint")
    .addColumn("to_version", "bigint")
    .addColumn("reason", "text")
    // A promotion undone by a rollback: the next rollback looks further back.
    .addColumn("undone", "integer", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("flow_run_id", "text")
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("seq", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("model_alias_moves_alias").on("model_alias_moves").columns(["name", "alias", "seq"]).execute();
}
