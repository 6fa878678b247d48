/**
 * 0020: experiment tracking. `experiment_runs` names the runs that logged parameters or metrics
 * (a flow run, or a task run of a hyper-parameter fan-out) and the experiment each belongs to;
 * `run_params` holds one JSON value per (run, key), `run_metrics` one value per (run, name,
 * step): logging again replaces, so a retried task redraws its curve instead of doubling it.
 * `flow_run_id` on each serves deleting a flow run with everything it logged. Never edit.
 */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("experiment_runs")
    .addColumn("run_id", "text", (c) => c.primaryKey())
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("experiment", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  // An experiment's runs, newest first; and the experiments' list (grouped by name).
  await db.schema.createIndex("experiment_runs_experiment").on("experiment_runs").columns(["experiment", "created_at", "run_id"]).execute();
  await db.schema.createIndex("experiment_runs_flow_run").on("experiment_runs").column("flow_run_id").execute();

  await db.schema
    .createTable("run_params")
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("logged_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_params_pk", ["run_id", "key"])
    .execute();
  await db.schema.createIndex("run_params_flow_run").on("run_params").column("flow_run_id").execute();

  await db.schema
    .createTable("run_metrics")
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("step", "bigint", (c) => c.notNull())
    .addColumn("value", dialect === "postgres" ? "double precision" : "real", (c) => c.notNull())
    .addColumn("flow_run_id", "text", (c) => c.notNull())
    .addColumn("timestamp", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_metrics_pk", ["run_id", "name", "step"])
    .execute();
  await db.schema.createIndex("run_metrics_flow_run").on("run_metrics").column("flow_run_id").execute();
}
