/**
 * 0012: flow run inputs. `flow_run_inputs` holds each pause of a run (`pauseFlowRun`): the JSON
 * Schema and description of the input it asks for, when it times out and its default (JSON
 * text; null: none), and once supplied the input itself. One row per (run, key): a resumed run
 * finds its earlier answers by key. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("flow_run_inputs")
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("schema", "text")
    .addColumn("description", "text")
    .addColumn("timeout_at", "bigint")
    .addColumn("default_value", "text")
    .addColumn("input", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("supplied_at", "bigint")
    .addColumn("supplied_by", "text")
    .addPrimaryKeyConstraint("flow_run_inputs_pk", ["flow_run_id", "key"])
    .execute();
  // The timeout sweep reads the requests whose timeout passed.
  await db.schema.createIndex("flow_run_inputs_timeout_at").on("flow_run_inputs").column("timeout_at").execute();
}
