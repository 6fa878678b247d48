/**
 * Durable events: "something happened", stored in the `events` table in order, for automations,
 * alerts, audit and people to react to. Modelled on Prefect's events:
 *   - `event`: a dotted name, e.g. `baton.flow-run.Failed`, `data.arrived`;
 *   - `resource`: the thing it is about (an id, a name, labels);
 *   - `related`: other things it concerns, each with its role (the flow, the deployment, the work
 *     pool, each tag, the parent flow run...), so "every event of deployment X" is one query;
 *   - `payload`: anything else (the state, the previous state, user data).
 * Baton's own events are named `baton.<resource kind>.<what>`. The module is pure: builders and
 * the name-pattern rule, no I/O.
 */
import type { State } from "./states.ts";

/** The thing an event is about. */
export interface EventResource {
  id: string;
  name?: string | null;
  /** Small string facts about it ("kind": "flow-run", "state-type": "FAILED", ...). */
  labels?: Record<string, string>;
}

/** Another thing an event concerns, and in which role. */
export interface RelatedResource {
  /** "flow", "flow-run", "task-run", "deployment", "work-pool", "work-queue", "worker", "tag", "limit", "webhook", ... */
  role: string;
  id: string;
  name?: string | null;
}

/** An event as it is emitted (the store gives it its position). */
export interface NewEvent {
  /** A UUIDv7: an event sent twice (a retried request) is stored once. */
  id: string;
  /** When it happened (epoch ms). */
  occurred: number;
  event: string;
  resource: EventResource;
  related: RelatedResource[];
  payload: Record<string, unknown>;
}

/** An event as stored: `seq` orders the log (and is the stream's resume point). */
export interface EventRecord extends NewEvent {
  seq: number;
  /** When the store received it (epoch ms). */
  received: number;
}

/** Event names: dotted words of letters, digits, `_` and `-` (`baton.flow-run.Failed`). */
export const EVENT_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Whether `name` matches `pattern`: an exact name, or a prefix ending in `*`
 * (`baton.flow-run.*` matches every flow-run event; `*` alone matches all).
 */
export function eventMatches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** What a flow-run transition event needs to know about the run. */
export interface FlowRunFacts {
  id: string;
  name: string;
  flowId: string;
  flowName: string;
  tags: readonly string[];
  deploymentId: string | null;
  deploymentName?: string | null;
  workPool: string | null;
  workQueue: string | null;
  workerId: string | null;
  parentFlowRunId: string | null;
  runCount: number;
}

/** What a task-run transition event needs to know about the run. */
export interface TaskRunFacts {
  id: string;
  taskKey: string;
  taskName: string;
  flowRunId: string;
  tags: readonly string[];
  runCount: number;
}

const stateOf = (state: Pick<State, "type" | "name" | "message" | "timestamp">) => ({ type: state.type, name: state.name, message: state.message ?? null, timestamp: state.timestamp });

const tagsOf = (tags: readonly string[]): RelatedResource[] => tags.map((tag) => ({ role: "tag", id: tag, name: tag }));

/** `baton.flow-run.<State name>`: a flow run moved to `to` (from `from`, null for a new run). */
export function flowRunTransitionEvent(id: string, run: FlowRunFacts, from: Pick<State, "type" | "name" | "message" | "timestamp"> | null, to: Pick<State, "type" | "name" | "message" | "timestamp">): NewEvent {
  const related: RelatedResource[] = [{ role: "flow", id: run.flowId, name: run.flowName }];
  if (run.deploymentId) related.push({ role: "deployment", id: run.deploymentId, name: run.deploymentName ?? null });
  if (run.workPool) related.push({ role: "work-pool", id: run.workPool, name: run.workPool });
  if (run.workPool && run.workQueue) related.push({ role: "work-queue", id: `${run.workPool}/${run.workQueue}`, name: run.workQueue });
  if (run.workerId) related.push({ role: "worker", id: run.workerId, name: null });
  if (run.parentFlowRunId) related.push({ role: "parent-flow-run", id: run.parentFlowRunId, name: null });
  related.push(...tagsOf(run.tags));
  return {
    id,
    occurred: to.timestamp,
    event: `baton.flow-run.${to.name}`,
    resource: { id: run.id, name: run.name, labels: { kind: "flow-run", "state-type": to.type, "state-name": to.name } },
    related,
    payload: { state: stateOf(to), previous: from ? stateOf(from) : null, runCount: run.runCount },
  };
}

/** Task-run states that emit an event even when the task did not ask for all of its events. */
export const TASK_RUN_EVENT_STATES: ReadonlySet<string> = new Set(["Failed", "TimedOut", "Crashed", "Cancelled"]);

/** `baton.task-run.<State name>`: a task run moved to `to`. */
export function taskRunTransitionEvent(id: string, run: TaskRunFacts, flowRun: Pick<FlowRunFacts, "id" | "name" | "flowId" | "flowName" | "deploymentId">, from: Pick<State, "type" | "name" | "message" | "timestamp"> | null, to: Pick<State, "type" | "name" | "message" | "timestamp">): NewEvent {
  const related: RelatedResource[] = [
    { role: "flow-run", id: flowRun.id, name: flowRun.name },
    { role: "flow", id: flowRun.flowId, name: flowRun.flowName },
  ];
  if (flowRun.deploymentId) related.push({ role: "deployment", id: flowRun.deploymentId, name: null });
  related.push(...tagsOf(run.tags));
  return {
    id,
    occurred: to.timestamp,
    event: `baton.task-run.${to.name}`,
    resource: { id: run.id, name: run.taskKey, labels: { kind: "task-run", task: run.taskName, "state-type": to.type, "state-name": to.name } },
    related,
    payload: { state: stateOf(to), previous: from ? stateOf(from) : null, runCount: run.runCount },
  };
}

/** `baton.worker.dead`: a worker stopped heartbeating and its runs were marked Crashed. */
export function workerLostEvent(id: string, worker: { id: string; name: string | null; pool: string | null; lastHeartbeat: number }, occurred: number, crashedRuns: readonly string[]): NewEvent {
  const related: RelatedResource[] = worker.pool ? [{ role: "work-pool", id: worker.pool, name: worker.pool }] : [];
  related.push(...crashedRuns.map((run) => ({ role: "flow-run", id: run, name: null })));
  return {
    id,
    occurred,
    event: "baton.worker.dead",
    resource: { id: worker.id, name: worker.name, labels: { kind: "worker" } },
    related,
    payload: { lastHeartbeat: worker.lastHeartbeat, crashedRuns },
  };
}
