/**
 * The API's shapes as the dashboard reads them (a subset of the server's OpenAPI schemas).
 * Pure types, no DOM: the graph layout module and its unit test import them under Node too.
 */

export interface State {
  type: string;
  name: string;
  timestamp: number;
  message?: string | null;
}

export interface FlowRun {
  id: string;
  name: string;
  flowName: string;
  state: State;
  parameters: unknown;
  runCount: number;
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
  parentFlowRunId: string | null;
  deploymentId: string | null;
  resultId: string | null;
  tags: string[];
  error: { name: string; message: string; stack?: string } | null;
}

export interface TaskRun {
  id: string;
  taskKey: string;
  taskName: string;
  state: State;
  runCount: number;
  startTime: number | null;
  endTime: number | null;
  error: { message: string } | null;
}

export interface Dependency {
  taskRunId: string;
  upstreamTaskRunId: string;
  kind: "data" | "wait";
}

export interface LogLine {
  id: number;
  taskRunId: string | null;
  level: number;
  message: string;
  timestamp: number;
}

export interface StateRecord {
  id: number;
  name: string;
  type: string;
  timestamp: number;
  message: string | null;
}

/** A deployment, pool, queue, worker or limit changed through the API. */
export interface ResourceEvent {
  kind: "resource";
  resource: "deployments" | "work-pools" | "workers" | "concurrency-limits" | "artifacts";
  name: string | null;
  /** An artifact's run. */
  flowRunId?: string;
}

export type LiveEvent = ({ kind: "state"; id: number; flowRunId: string; taskRunId: string | null } & State) | ({ kind: "log"; flowRunId: string } & LogLine) | ResourceEvent;

/** An event of the durable log (GET /api/events, /api/events/stream). */
export interface EventRecord {
  seq: number;
  id: string;
  occurred: number;
  received: number;
  event: string;
  resource: { id: string; name?: string | null; labels?: Record<string, string> };
  related: { role: string; id: string; name?: string | null }[];
  payload: Record<string, unknown>;
}
