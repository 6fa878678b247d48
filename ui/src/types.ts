/**
 * The API's shapes as the dashboard reads them: the server's own schemas (src/schemas), imported
 * as types only, so the bundle carries none of them. Where a page gets less than the whole
 * record (the run page's task list comes from the compact task table), the type says which part.
 * Pure types, no DOM: the graph layout module and its unit test import them under Node too.
 */
import type { State } from "../../src/core/states.ts";
import type { ErrorInfo } from "../../src/core/errors.ts";
import type { FlowRun } from "../../src/schemas/flow-run.ts";
import type { LogRecord } from "../../src/schemas/log.ts";
import type { TaskDependency, TaskRun as TaskRunRecord } from "../../src/schemas/task-run.ts";

export type { State, FlowRun, TaskRunRecord };
export type { StateRecord } from "../../src/schemas/state.ts";
export type { EventRecord } from "../../src/core/event-records.ts";
export type { LiveEvent, ResourceEvent } from "../../src/schemas/live-event.ts";
export type { TaskTable } from "../../src/schemas/task-table.ts";
export type { Stats, RunRef } from "../../src/schemas/stats.ts";
export type { WorkerStatus } from "../../src/schemas/worker.ts";
export type { WorkPoolWithWorkers, WorkQueue } from "../../src/schemas/work-pool.ts";
export type { ConcurrencyLimit } from "../../src/schemas/concurrency-limit.ts";
export type { Deployment, DeploymentList, ScheduleList, ScheduleRecord, SchedulePreview } from "../../src/schemas/deployment.ts";
export type { FlowDetail, FlowRunBrief, FlowSummaryList } from "../../src/schemas/flow-stats.ts";
export type { WorkerDetail } from "../../src/schemas/worker.ts";
export type { SessionInfo } from "../../src/schemas/session.ts";
export type { ExperimentRunRecord, ExperimentSummary, MetricHistory } from "../../src/schemas/experiment.ts";

/** A task run as the run page has it: what the task table carries (see run-data.ts). */
export type TaskRun = Pick<TaskRunRecord, "id" | "taskKey" | "taskName" | "state" | "runCount" | "startTime" | "endTime"> & { error: Pick<ErrorInfo, "message"> | null };

export type Dependency = TaskDependency;

/** A stored log line (lines read from the API always have their id). */
export type LogLine = Pick<LogRecord, "taskRunId" | "level" | "message" | "timestamp"> & { id: number };
export type { AssetSummary, AssetDetail, LineageGraph, LineageNode, LineageEdge, RunAssets } from "../../src/store/asset-store.ts";
export type { AssetVersion } from "../../src/core/assets.ts";
