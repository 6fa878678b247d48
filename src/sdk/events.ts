/**
 * `emitEvent`: user code records that something happened, in the durable event log that
 * automations, alerts and people watch. Inside a run the event is related to the flow run (and
 * task run, flow and deployment) automatically and travels in the run's write batch, committed
 * in order with the run's other records, directly or through the server alike; outside a run it
 * is stored at once (the database, or POST /api/events in remote mode).
 *
 * @example
 * import { emitEvent, task } from "baton";
 * const load = task(async function load(key: string) {
 *   // ... read the file
 *   await emitEvent("data.loaded", { resource: { id: key }, payload: { rows: 1200 } });
 * });
 */
import { newId } from "../core/ids.ts";
import { userEventNameProblem } from "../core/event-input.ts";
import type { EventResource, NewEvent, RelatedResource } from "../core/event-records.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { getRuntime } from "./runtime.ts";

export interface EmitEventOptions {
  /** What the event is about (default: the current task run, else the current flow run). */
  resource?: EventResource;
  /** Other resources it concerns, each in its role; the run's own are added inside a run. */
  related?: RelatedResource[];
  /** Anything else, as JSON. */
  payload?: Record<string, unknown>;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The options checked; each TypeError names the argument. */
function checked(options: EmitEventOptions): EmitEventOptions {
  if (!isPlainObject(options)) throw new TypeError("emitEvent(event, options): options must be an object { resource?, related?, payload? }");
  const { resource, related, payload } = options;
  if (resource !== undefined && (!isPlainObject(resource) || typeof resource.id !== "string" || resource.id === ""))
    throw new TypeError("emitEvent options.resource must be { id: string, name?, labels? } with a non-empty id");
  if (resource?.labels !== undefined && (!isPlainObject(resource.labels) || Object.values(resource.labels).some((v) => typeof v !== "string")))
    throw new TypeError("emitEvent options.resource.labels must be an object of strings");
  if (related !== undefined && (!Array.isArray(related) || related.some((r) => !isPlainObject(r) || typeof r.id !== "string" || !r.id || typeof r.role !== "string" || !r.role)))
    throw new TypeError("emitEvent options.related must be an array of { role: string, id: string, name? }");
  if (payload !== undefined && !isPlainObject(payload)) throw new TypeError("emitEvent options.payload must be an object");
  return options;
}

/** Records an event; resolves with it as stored (inside a run, once queued in the run's writes). */
export async function emitEvent(event: string, options: EmitEventOptions = {}): Promise<NewEvent> {
  const problem = userEventNameProblem(event, "emitEvent(event)");
  if (problem) throw new TypeError(problem);
  const { resource, related = [], payload = {} } = checked(options);
  // A copy as JSON: what is stored is what the caller had at this moment.
  const data = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
  const ctx = currentEngineContext();
  if (!ctx) {
    if (!resource) throw new TypeError("emitEvent(event, { resource }): outside a flow or task run, say what the event is about with options.resource");
    const stored: NewEvent = { id: newId(), occurred: Date.now(), event, resource, related, payload: data };
    await (await getRuntime()).store.emitEvents([stored]);
    return stored;
  }
  const run = ctx.flow.flowRun;
  const own: EventResource = ctx.task
    ? { id: ctx.task.id, name: ctx.task.taskKey, labels: { kind: "task-run", task: ctx.task.name } }
    : { id: run.id, name: run.name, labels: { kind: "flow-run", flow: run.flowName } };
  const about = resource ?? own;
  const context: RelatedResource[] = [];
  if (ctx.task && about.id !== ctx.task.id) context.push({ role: "task-run", id: ctx.task.id, name: ctx.task.taskKey });
  if (about.id !== run.id) context.push({ role: "flow-run", id: run.id, name: run.name });
  context.push({ role: "flow", id: run.flowId, name: run.flowName });
  if (run.deploymentId) context.push({ role: "deployment", id: run.deploymentId, name: null });
  const stored: NewEvent = { id: newId(), occurred: Date.now(), event, resource: about, related: [...related, ...context], payload: data };
  ctx.flow.runtime.batcher.post([{ kind: "event", event: stored, flowRunId: run.id }]);
  return stored;
}
