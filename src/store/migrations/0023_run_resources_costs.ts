/**
 * 0023: what each run used and what its pool charges. `flow_runs` and `task_runs` get the
 * resources their runner measured (written with the final state, in the same statement): wall
 * and CPU time of the run's attempts, the peak memory seen, and the share of wall and CPU spent
 * in attempts that failed and were retried (the waste of `GET /api/usage`). `work_pools` gets
 * its prices: per hour of wall time, per CPU hour, per GPU hour (times the GPUs each run holds),
 * in one currency. Every column is nullable: runs of older versions, and pools without prices,
 * have none. Never edit once shipped.
 */
import type { Kysely } from "kysely";

const RESOURCE_COLUMNS = ["wall_ms", "cpu_user_ms", "cpu_system_ms", "peak_memory_bytes", "retried_wall_ms", "retried_cpu_ms"] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ["flow_runs", "task_runs"]) for (const column of RESOURCE_COLUMNS) await db.schema.alterTable(table).addColumn(column, "bigint").execute();
  // "double precision": a float on both (SQLite's affinity reads it as REAL).
  for (const column of ["cost_per_hour", "cost_per_cpu_hour", "cost_per_gpu_hour", "gpus"]) await db.schema.alterTable("work_pools").addColumn(column, "double precision").execute();
  await db.schema.alterTable("work_pools").addColumn("currency", "text").execute();
}
