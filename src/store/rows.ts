/** Conversions between table rows and the Store's records. */
import type { Selectable } from "kysely";
import type { ErrorInfo } from "../core/errors.ts";
import type { State, StateName, StateType } from "../core/states.ts";
import type { ArtifactsTable, FlowRunsTable, FlowsTable, LogsTable, StatesTable, TaskRunsTable } from "./schema.ts";
import type { RunResources } from "../core/resources.ts";
import type { Artifact, FlowRecord, FlowRun, LogRecord, StateRecord, TaskRun } from "./types.ts";

const json = <T>(text: string | null, fallback: T): T => (text == null ? fallback : (JSON.parse(text) as T));

function stateOf(row: {
  state_type: string;
  state_name: string;
  state_message: string | null;
  state_timestamp: number;
  scheduled_at: number | null;
}): State {
  return {
    type: row.state_type as StateType,
    name: row.state_name as StateName,
    message: row.state_message,
    timestamp: Number(row.state_timestamp),
    scheduledAt: row.scheduled_at == null ? null : Number(row.scheduled_at),
  };
}

const num = (v: number | null): number | null => (v == null ? null : Number(v));

/** The resource columns of a flow run or task run (0023); null when the run recorded none. */
export function resourcesOf(row: {
  wall_ms?: number | null;
  cpu_user_ms?: number | null;
  cpu_system_ms?: number | null;
  peak_memory_bytes?: number | null;
  retried_wall_ms?: number | null;
  retried_cpu_ms?: number | null;
}): RunResources | null {
  if (row.wall_ms == null) return null;
  return {
    wallMs: Number(row.wall_ms),
    cpuUserMs: num(row.cpu_user_ms ?? null),
    cpuSystemMs: num(row.cpu_system_ms ?? null),
    peakMemoryBytes: num(row.peak_memory_bytes ?? null),
    retriedWallMs: Number(row.retried_wall_ms ?? 0),
    retriedCpuMs: Number(row.retried_cpu_ms ?? 0),
  };
}

/** A run's resources as its row's columns (all null: none recorded). */
export function resourceColumns(r: RunResources | null | undefined): {
  wall_ms: number | null;
  cpu_user_ms: number | null;
  cpu_system_ms: number | null;
  peak_memory_bytes: number | null;
  retried_wall_ms: number | null;
  retried_cpu_ms: number | null;
} {
  return {
    wall_ms: r?.wallMs ?? null,
    cpu_user_ms: r?.cpuUserMs ?? null,
    cpu_system_ms: r?.cpuSystemMs ?? null,
    peak_memory_bytes: r?.peakMemoryBytes ?? null,
    retried_wall_ms: r?.retriedWallMs ?? null,
    retried_cpu_ms: r?.retriedCpuMs ?? null,
  };
}

export function flowFromRow(row: Selectable<FlowsTable>): FlowRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    tags: json(row.tags, []),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function flowRunFromRow(row: Selectable<FlowRunsTable> & { flow_name: string }): FlowRun {
  return {
    id: row.id,
    flowId: row.flow_id,
    flowName: row.flow_name,
    name: row.name,
    parentFlowRunId: row.parent_flow_run_id,
    parentTaskRunId: row.parent_task_run_id,
    state: stateOf(row),
    parameters: json(row.parameters, {}),
    tags: json(row.tags, []),
    runCount: Number(row.run_count),
    createdAt: Number(row.created_at),
    startTime: num(row.start_time),
    endTime: num(row.end_time),
    heartbeatAt: num(row.heartbeat_at),
    heartbeatMs: num(row.heartbeat_ms),
    resultId: row.result_id,
    error: json<ErrorInfo | null>(row.error, null),
    version: row.version,
    entrypoint: row.entrypoint ?? null,
    deploymentId: row.deployment_id ?? null,
    workPool: row.work_pool ?? null,
    workQueue: row.work_queue ?? null,
    workerId: row.worker_id ?? null,
    expectedStartTime: num(row.expected_start_time ?? null),
    retriesUsed: Number(row.retries_used ?? 0),
    resources: resourcesOf(row),
  };
}

export function taskRunFromRow(row: Selectable<TaskRunsTable>): TaskRun {
  return {
    id: row.id,
    flowRunId: row.flow_run_id,
    taskKey: row.task_key,
    taskName: row.task_name,
    state: stateOf(row),
    runCount: Number(row.run_count),
    cacheKey: row.cache_key,
    resultId: row.result_id,
    error: json<ErrorInfo | null>(row.error, null),
    tags: json(row.tags, []),
    createdAt: Number(row.created_at),
    startTime: num(row.start_time),
    endTime: num(row.end_time),
    resources: resourcesOf(row),
  };
}

export function stateFromRow(row: Selectable<StatesTable>): StateRecord {
  return {
    id: Number(row.id),
    flowRunId: row.flow_run_id,
    taskRunId: row.task_run_id,
    type: row.type as StateType,
    name: row.name as StateName,
    message: row.message,
    timestamp: Number(row.timestamp),
    scheduledAt: num(row.scheduled_at),
  };
}

export function logFromRow(row: Selectable<LogsTable>): LogRecord {
  return {
    id: Number(row.id),
    flowRunId: row.flow_run_id,
    taskRunId: row.task_run_id,
    level: Number(row.level),
    message: row.message,
    timestamp: Number(row.timestamp),
    extra: json(row.extra, null),
  };
}

/** The artifact of a row, without its bytes (an image's are read apart: artifact-store.ts). */
export function artifactFromRow(r: Omit<Selectable<ArtifactsTable>, "content">): Artifact {
  return {
    id: r.id,
    key: r.key,
    type: r.type as Artifact["type"],
    data: JSON.parse(r.data) as unknown,
    description: r.description,
    flowRunId: r.flow_run_id,
    taskRunId: r.task_run_id,
    createdAt: Number(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Every column of `artifacts` but the image bytes: listings never carry them. */
export const ARTIFACT_COLUMNS = ["id", "key", "type", "data", "description", "flow_run_id", "task_run_id", "created_at", "updated_at"] as const;
