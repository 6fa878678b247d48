/**
 * Where experiment tracking's values (sdk/experiments.ts) go once checked: into a batch per flow
 * run and turn of the event loop, one entry per run that logged (the task run, else the flow
 * run), written to the store together (one transaction, or one request in remote mode). Both
 * the calls made in the main thread and those a worker thread sends over its port
 * (thread-values.ts) come here, so automatic steps and batching behave the same for both.
 */
import type { RunValues } from "../core/experiments.ts";
import type { FlowRunState } from "./flow-run-state.ts";
import type { EngineContext } from "./run-context.ts";

/** A metric as logged: its step is the caller's, or undefined for the run's next one. */
export interface LoggedMetric {
  name: string;
  value: number;
  step: number | undefined;
  timestamp: number;
}

/** What the current turn's calls of one flow run logged, written together. */
interface Pending {
  entries: Map<string, RunValues>;
  written: Promise<void>;
}

const pending = new WeakMap<FlowRunState, Pending>();
/** Next automatic step per metric, per attempt of a run (a retry starts again at 0 and redraws its curve). */
const nextSteps = new WeakMap<object, Map<string, number>>();

/** The entry of the current run (task run, else flow run) in this turn's batch. */
function entryOf(ctx: EngineContext): { entry: RunValues; written: Promise<void> } {
  const flow = ctx.flow;
  let batch = pending.get(flow);
  if (!batch) {
    const entries = new Map<string, RunValues>();
    const written = new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        pending.delete(flow);
        write(flow, [...entries.values()]).then(resolve, reject);
      }),
    );
    // A caller that does not await still must not crash the process with an unhandled rejection;
    // its own promise (returned below) still rejects.
    written.catch(() => undefined);
    batch = { entries, written };
    pending.set(flow, batch);
  }
  const runId = ctx.task?.id ?? flow.flowRun.id;
  let entry = batch.entries.get(runId);
  if (!entry) {
    entry = { flowRunId: flow.flowRun.id, taskRunId: ctx.task?.id ?? null, experiment: flow.options.experiment ?? flow.flowRun.flowName, params: {}, metrics: [] };
    batch.entries.set(runId, entry);
  }
  return { entry, written: batch.written };
}

async function write(flow: FlowRunState, entries: RunValues[]): Promise<void> {
  // A task run's own records may still be queued: in remote mode the server refuses values of a
  // task run it does not know, so they are committed first.
  if (entries.some((e) => e.taskRunId)) await flow.runtime.batcher.write([]);
  // One value per (metric, step) in a statement: the last one logged.
  for (const e of entries) e.metrics = [...new Map(e.metrics.map((m) => [`${m.name}\u0000${m.step}`, m])).values()];
  await flow.runtime.store.logRunValues(entries);
}

function stepOf(ctx: EngineContext, name: string, step: number | undefined): number {
  // A task's info is new at every attempt; a flow run's state lives across its attempts.
  const owner: object = ctx.task ?? ctx.flow;
  const key = ctx.task ? name : `${ctx.flow.attempt}\u0000${name}`;
  let steps = nextSteps.get(owner);
  if (!steps) nextSteps.set(owner, (steps = new Map()));
  const value = step ?? steps.get(key) ?? 0;
  steps.set(key, Math.max(steps.get(key) ?? 0, value + 1));
  return value;
}

/** Adds checked parameters (JSON text per key) to the run's batch; settles once written. */
export function recordParams(ctx: EngineContext, params: Record<string, string>): Promise<void> {
  const { entry, written } = entryOf(ctx);
  Object.assign(entry.params, params);
  return written;
}

/** Adds checked metrics to the run's batch, in order, giving each its step; settles once written. */
export function recordMetrics(ctx: EngineContext, metrics: readonly LoggedMetric[]): Promise<void> {
  const { entry, written } = entryOf(ctx);
  for (const m of metrics) entry.metrics.push({ name: m.name, value: m.value, step: stepOf(ctx, m.name, m.step), timestamp: m.timestamp });
  return written;
}
