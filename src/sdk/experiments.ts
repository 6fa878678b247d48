/**
 * Experiment tracking inside runs: `logParams`, `logMetric`, `logMetrics`. What a flow logs
 * belongs to its flow run, what a task logs to its task run — so a hyper-parameter search done
 * with `map` gives one row per configuration — and every run of a flow belongs to its
 * experiment (the flow's `experiment` option, else its name). Calls made in one turn of the event
 * loop go to the store together (one transaction, or one request in remote mode); await them to
 * know they are stored.
 *
 * @example
 * import { flow, logMetric, logParams, task } from "baton";
 * const train = task(async function train(cfg: { depth: number }) {
 *   await logParams(cfg);
 *   for (let epoch = 0; epoch < 10; epoch++) await logMetric("loss", 1 / (epoch + 1)); // steps 0..9
 *   await logMetric("macroF1", 0.81);
 * });
 * export const search = flow(async function search() {
 *   await Promise.all(train.map([{ depth: 3 }, { depth: 5 }]));
 * }, { experiment: "weather-model" });
 */
import { BatonError } from "../core/errors.ts";
import { checkMetric, paramsAsJson, type RunValues } from "../core/experiments.ts";
import type { FlowRunState } from "../engine/flow-run-state.ts";
import { currentEngineContext, type EngineContext } from "../engine/run-context.ts";

export interface MetricOptions {
  /** The step (epoch, iteration), a whole number ≥ 0; default: the run's next step of this metric (0, 1, 2…). */
  step?: number;
}

/** What the current turn's calls of one flow run logged, written together. */
interface Pending {
  entries: Map<string, RunValues>;
  written: Promise<void>;
}

const pending = new WeakMap<FlowRunState, Pending>();
/** Next automatic step per metric, per attempt of a run (a retry starts again at 0 and redraws its curve). */
const nextSteps = new WeakMap<object, Map<string, number>>();

function context(call: string): EngineContext {
  const ctx = currentEngineContext();
  if (!ctx) throw new BatonError(`${call} needs a running flow: call it from a flow or a task`);
  return ctx;
}

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

/** Records the run's parameters (any JSON values); a key logged again replaces its value. */
export function logParams(params: Record<string, unknown>): Promise<void> {
  const ctx = context("logParams");
  const json = paramsAsJson(params);
  const { entry, written } = entryOf(ctx);
  Object.assign(entry.params, json);
  return written;
}

/** Records a metric's value at a step (default: the next step of that metric in this run). */
export function logMetric(name: string, value: number, options: MetricOptions = {}): Promise<void> {
  const ctx = context("logMetric");
  checkMetric(name, value, options.step);
  const { entry, written } = entryOf(ctx);
  entry.metrics.push({ name, value, step: stepOf(ctx, name, options.step), timestamp: Date.now() });
  return written;
}

/** Records several metrics at one step each (`{ loss: 0.3, accuracy: 0.91 }`). */
export function logMetrics(metrics: Record<string, number>, options: MetricOptions = {}): Promise<void> {
  const ctx = context("logMetrics");
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) throw new TypeError("logMetrics(metrics) must be an object of metric name → number");
  for (const [name, value] of Object.entries(metrics)) checkMetric(name, value, options.step, "logMetrics");
  const { entry, written } = entryOf(ctx);
  const timestamp = Date.now();
  for (const [name, value] of Object.entries(metrics)) entry.metrics.push({ name, value, step: stepOf(ctx, name, options.step), timestamp });
  return written;
}
