/** 0001: flows, runs, state history, dependencies, logs, results and the cache. Never edit. */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const serial = dialect === "postgres" ? "bigserial" : "integer";
  const text = "text";
  const ms = "bigint";

  await db.schema
    .createTable("flows")
    .addColumn("id", text, (c) => c.primaryKey())
    .addColumn("name", text, (c) => c.notNull().unique())
    .addColumn("description", text)
    .addColumn("tags", text, (c) => c.notNull().defaultTo("[]"))
    .addColumn("created_at", ms, (c) => c.notNull())
    .addColumn("updated_at", ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("flow_runs")
    .addColumn("id", text, (c) => c.primaryKey())
    .addColumn("flow_id", text, (c) => c.notNull().references("flows.id").onDelete("cascade"))
    .addColumn("name", text, (c) => c.notNull())
    .addColumn("parent_flow_run_id", text)
    .addColumn("parent_task_run_id", text)
    .addColumn("state_type", text, (c) => c.notNull())
    .addColumn("state_name", text, (c) => c.notNull())
    .addColumn("state_message", text)
    .addColumn("state_timestamp", ms, (c) => c.notNull())
    .addColumn("scheduled_at", ms)
    .addColumn("parameters", text, (c) => c.notNull())
    .addColumn("tags", text, (c) => c.notNull().defaultTo("[]"))
    .addColumn("run_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", ms, (c) => c.notNull())
    .addColumn("start_time", ms)
    .addColumn("end_time", ms)
    .addColumn("heartbeat_at", ms)
    .addColumn("heartbeat_ms", "integer")
    .addColumn("result_id", text)
    .addColumn("error", text)
    .addColumn("version", text)
    .execute();
  await db.schema.createIndex("flow_runs_flow_created").on("flow_runs").columns(["flow_id", "created_at"]).execute();
  await db.schema.createIndex("flow_runs_state_created").on("flow_runs").columns(["state_type", "created_at"]).execute();
  await db.schema.createIndex("flow_runs_created").on("flow_runs").columns(["created_at", "id"]).execute();
  await db.schema.createIndex("flow_runs_parent").on("flow_runs").column("parent_flow_run_id").execute();
  await db.schema.createIndex("flow_runs_active_heartbeat").on("flow_runs").columns(["state_type", "heartbeat_at"]).execute();

  await db.schema
    .createTable("task_runs")
    .addColumn("id", text, (c) => c.primaryKey())
    .addColumn("flow_run_id", text, (c) => c.notNull().references("flow_runs.id").onDelete("cascade"))
    .addColumn("task_key", text, (c) => c.notNull())
    .addColumn("task_name", text, (c) => c.notNull())
    .addColumn("state_type", text, (c) => c.notNull())
    .addColumn("state_name", text, (c) => c.notNull())
    .addColumn("state_message", text)
    .addColumn("state_timestamp", ms, (c) => c.notNull())
    .addColumn("scheduled_at", ms)
    .addColumn("run_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("cache_key", text)
    .addColumn("result_id", text)
    .addColumn("error", text)
    .addColumn("tags", text, (c) => c.notNull().defaultTo("[]"))
    .addColumn("created_at", ms, (c) => c.notNull())
    .addColumn("start_time", ms)
    .addColumn("end_time", ms)
    .addUniqueConstraint("task_runs_flow_run_key", ["flow_run_id", "task_key"])
    .execute();

  await db.schema
    .createTable("states")
    .addColumn("id", serial, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("flow_run_id", text, (c) => c.notNull())
    .addColumn("task_run_id", text)
    .addColumn("type", text, (c) => c.notNull())
    .addColumn("name", text, (c) => c.notNull())
    .addColumn("message", text)
    .addColumn("timestamp", ms, (c) => c.notNull())
    .addColumn("scheduled_at", ms)
    .execute();
  // One index serves both histories: a flow run's (task_run_id null) and a task run's.
  await db.schema.createIndex("states_run").on("states").columns(["flow_run_id", "task_run_id", "id"]).execute();

  await db.schema
    .createTable("task_dependencies")
    .addColumn("task_run_id", text, (c) => c.notNull())
    .addColumn("upstream_task_run_id", text, (c) => c.notNull())
    .addColumn("flow_run_id", text, (c) => c.notNull())
    .addColumn("kind", text, (c) => c.notNull())
    .addPrimaryKeyConstraint("task_dependencies_pk", ["task_run_id", "upstream_task_run_id"])
    .execute();
  await db.schema.createIndex("task_dependencies_flow_run").on("task_dependencies").column("flow_run_id").execute();

  await db.schema
    .createTable("logs")
    .addColumn("id", serial, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("flow_run_id", text, (c) => c.notNull())
    .addColumn("task_run_id", text)
    .addColumn("level", "integer", (c) => c.notNull())
    .addColumn("message", text, (c) => c.notNull())
    .addColumn("timestamp", ms, (c) => c.notNull())
    .addColumn("extra", text)
    .execute();
  await db.schema.createIndex("logs_flow_run").on("logs").columns(["flow_run_id", "id"]).execute();
  await db.schema.createIndex("logs_timestamp").on("logs").column("timestamp").execute();

  await db.schema
    .createTable("results")
    .addColumn("id", text, (c) => c.primaryKey())
    .addColumn("serializer", text, (c) => c.notNull())
    .addColumn("value", text)
    .addColumn("path", text)
    .addColumn("size", "integer", (c) => c.notNull())
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("cache_entries")
    .addColumn("cache_key", text, (c) => c.primaryKey())
    .addColumn("result_id", text, (c) => c.notNull())
    .addColumn("task_run_id", text, (c) => c.notNull())
    .addColumn("expires_at", ms)
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();
}
