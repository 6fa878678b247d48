/**
 * Every table Baton's migrations create (with Kysely's own two), for `baton db reset` to drop
 * them — and nothing else that shares the database. The type check below fails when a table
 * is added to the schema but not here.
 */
import type { Database } from "./schema.ts";

export const BATON_TABLES = [
  "api_keys",
  "accounts",
  "artifacts",
  "experiment_runs",
  "run_params",
  "run_metrics",
  "asset_versions",
  "asset_version_inputs",
  "asset_run_links",
  "models",
  "model_versions",
  "model_aliases",
  "model_alias_moves",
  "deployments",
  "schedules",
  "work_pools",
  "work_queues",
  "workers",
  "concurrency_limits",
  "concurrency_leases",
  "applied_batches",
  "events",
  "event_resources",
  "webhooks",
  "automations",
  "automation_buckets",
  "automation_firings",
  "automation_actions",
  "automation_cursor",
  "notification_channels",
  "variables",
  "secrets",
  "flows",
  "flow_runs",
  "flow_run_inputs",
  "task_runs",
  "states",
  "task_dependencies",
  "logs",
  "results",
  "result_blobs",
  "cache_entries",
  "audit_log",
] as const satisfies readonly (keyof Database)[];

/** Kysely's record of applied migrations and its lock. */
export const MIGRATION_TABLES = ["kysely_migration", "kysely_migration_lock"] as const;

type Unlisted = Exclude<keyof Database, (typeof BATON_TABLES)[number]>;
/** Compile-time: every table of the schema is listed above. */
export const EVERY_TABLE_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;
