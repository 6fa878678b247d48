/** Table types for Kysely: one schema for SQLite and PostgreSQL. Times are epoch ms (bigint). */
import type { Generated } from "kysely";

export interface FlowsTable {
  id: string;
  name: string;
  description: string | null;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface FlowRunsTable {
  id: string;
  flow_id: string;
  name: string;
  parent_flow_run_id: string | null;
  parent_task_run_id: string | null;
  state_type: string;
  state_name: string;
  state_message: string | null;
  state_timestamp: number;
  scheduled_at: number | null;
  parameters: string;
  tags: string;
  run_count: number;
  created_at: number;
  start_time: number | null;
  end_time: number | null;
  heartbeat_at: number | null;
  heartbeat_ms: number | null;
  result_id: string | null;
  error: string | null;
  version: string | null;
  entrypoint: string | null;
}

export interface TaskRunsTable {
  id: string;
  flow_run_id: string;
  task_key: string;
  task_name: string;
  state_type: string;
  state_name: string;
  state_message: string | null;
  state_timestamp: number;
  scheduled_at: number | null;
  run_count: number;
  cache_key: string | null;
  result_id: string | null;
  error: string | null;
  tags: string;
  created_at: number;
  start_time: number | null;
  end_time: number | null;
}

export interface StatesTable {
  id: Generated<number>;
  flow_run_id: string;
  task_run_id: string | null;
  type: string;
  name: string;
  message: string | null;
  timestamp: number;
  scheduled_at: number | null;
}

export interface TaskDependenciesTable {
  task_run_id: string;
  upstream_task_run_id: string;
  flow_run_id: string;
  kind: string;
}

export interface LogsTable {
  id: Generated<number>;
  flow_run_id: string;
  task_run_id: string | null;
  level: number;
  message: string;
  timestamp: number;
  extra: string | null;
}

export interface ResultsTable {
  id: string;
  serializer: string;
  value: string | null;
  path: string | null;
  size: number;
  created_at: number;
}

export interface CacheEntriesTable {
  cache_key: string;
  result_id: string;
  task_run_id: string;
  expires_at: number | null;
  created_at: number;
}

export interface AppliedBatchesTable {
  id: string;
  applied_at: number;
}

export interface Database {
  applied_batches: AppliedBatchesTable;
  flows: FlowsTable;
  flow_runs: FlowRunsTable;
  task_runs: TaskRunsTable;
  states: StatesTable;
  task_dependencies: TaskDependenciesTable;
  logs: LogsTable;
  results: ResultsTable;
  cache_entries: CacheEntriesTable;
}
