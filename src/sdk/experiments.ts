/**
 * Experiment tracking inside runs: `logParams`, `logMetric`, `logMetrics`. What a flow logs
 * belongs to its flow run, what a task logs to its task run (a `runner: "threads"` task's too) —
 * so a hyper-parameter search done with `map` gives one row per configuration — and every run of
 * a flow belongs to its experiment (the flow's `experiment` option, else its name). Calls made in one turn of the event
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
import { checkMetric, paramsAsJson } from "../core/experiments.ts";
import { recordMetrics, recordParams, type LoggedMetric } from "../engine/logged-values.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { currentThreadValues, type LoggedValues } from "../engine/thread-values.ts";

export interface MetricOptions {
  /** The step (epoch, iteration), a whole number ≥ 0; default: the run's next step of this metric (0, 1, 2…). */
  step?: number;
}

/** Where the current run's values go: its batch, or, in a thread task, the main thread. */
function destination(call: string): (values: LoggedValues) => Promise<void> {
  const ctx = currentEngineContext();
  if (ctx) return (values) => ("params" in values ? recordParams(ctx, values.params) : recordMetrics(ctx, values.metrics));
  const thread = currentThreadValues();
  if (thread) return (values) => thread.send(values);
  throw new BatonError(`${call} needs a running flow: call it from a flow or a task`);
}

/** Records the run's parameters (any JSON values); a key logged again replaces its value. */
export function logParams(params: Record<string, unknown>): Promise<void> {
  const send = destination("logParams");
  return send({ params: paramsAsJson(params) });
}

/** Records a metric's value at a step (default: the next step of that metric in this run). */
export function logMetric(name: string, value: number, options: MetricOptions = {}): Promise<void> {
  const send = destination("logMetric");
  checkMetric(name, value, options.step);
  return send({ metrics: [{ name, value, step: options.step, timestamp: Date.now() }] });
}

/** Records several metrics at one step each (`{ loss: 0.3, accuracy: 0.91 }`). */
export function logMetrics(metrics: Record<string, number>, options: MetricOptions = {}): Promise<void> {
  const send = destination("logMetrics");
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) throw new TypeError("logMetrics(metrics) must be an object of metric name → number");
  for (const [name, value] of Object.entries(metrics)) checkMetric(name, value, options.step, "logMetrics");
  const timestamp = Date.now();
  return send({ metrics: Object.entries(metrics).map(([name, value]): LoggedMetric => ({ name, value, step: options.step, timestamp })) });
}
