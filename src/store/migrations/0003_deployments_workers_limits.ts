/**
 * 0003: deployments and their schedules, work pools, queues and workers, concurrency limits
 * with leases, and the columns that tie flow runs to them. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const ms = "bigint";
  await db.schema
    .createTable("deployments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("flow_name", "text", (c) => c.notNull())
    .addColumn("entrypoint", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("version", "text")
    .addColumn("tags", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("parameters", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("parameter_schema", "text")
    .addColumn("work_pool", "text")
    .addColumn("work_queue", "text", (c) => c.notNull().defaultTo("default"))
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("concurrency_limit", "integer")
    .addColumn("collision_strategy", "text", (c) => c.notNull().defaultTo("enqueue"))
    .addColumn("retries", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("retry_delay_ms", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", ms, (c) => c.notNull())
    .addColumn("updated_at", ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("schedules")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("deployment_id", "text", (c) => c.notNull().references("deployments.id").onDelete("cascade"))
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("schedules_deployment").on("schedules").column("deployment_id").execute();

  await db.schema
    .createTable("work_pools")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("concurrency_limit", "integer")
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("work_queues")
    .addColumn("pool_name", "text", (c) => c.notNull().references("work_pools.name").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("priority", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("concurrency_limit", "integer")
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("work_queues_pk", ["pool_name", "name"])
    .execute();

  await db.schema
    .createTable("workers")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("pool_name", "text", (c) => c.notNull())
    .addColumn("run_limit", "integer")
    .addColumn("heartbeat_at", ms, (c) => c.notNull())
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("workers_pool").on("workers").columns(["pool_name", "heartbeat_at"]).execute();

  await db.schema
    .createTable("concurrency_limits")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("slot_limit", "integer", (c) => c.notNull())
    .addColumn("slot_decay_per_second", "real")
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("concurrency_leases")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("limit_name", "text", (c) => c.notNull())
    .addColumn("holder", "text", (c) => c.notNull())
    .addColumn("slots", "integer", (c) => c.notNull())
    .addColumn("expires_at", ms, (c) => c.notNull())
    .addColumn("created_at", ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("concurrency_leases_limit").on("concurrency_leases").columns(["limit_name", "expires_at"]).execute();
  await db.schema.createIndex("concurrency_leases_holder").on("concurrency_leases").column("holder").execute();

  await db.schema.alterTable("flow_runs").addColumn("deployment_id", "text").execute();
  await db.schema.alterTable("flow_runs").addColumn("work_pool", "text").execute();
  await db.schema.alterTable("flow_runs").addColumn("work_queue", "text").execute();
  await db.schema.alterTable("flow_runs").addColumn("worker_id", "text").execute();
  await db.schema.alterTable("flow_runs").addColumn("expected_start_time", ms).execute();
  // A schedule slot produces one run, whoever (scheduler, replica) inserts it first.
  await db.schema
    .createIndex("flow_runs_deployment_slot")
    .on("flow_runs")
    .columns(["deployment_id", "expected_start_time"])
    .unique()
    .where((eb) => eb.and([eb("deployment_id", "is not", null), eb("expected_start_time", "is not", null)]))
    .execute();
  await db.schema.createIndex("flow_runs_pool_due").on("flow_runs").columns(["work_pool", "state_type", "scheduled_at"]).execute();
}
