/**
 * A served model's live metric, measured by a monitoring run (accuracy on the newest labelled
 * data, error rate, latency): `reportModelMetric` records it as the event `model.metric`, and
 * when it falls outside the bounds given also as `model.metric.breached` — the event an
 * automation rolls the model back on (action `rollback-model`) and notifies about.
 *
 * @example
 * import { reportModelMetric, task } from "baton";
 * export const watch = task(async function watch() {
 *   const accuracy = await scoreNewestDays();
 *   await reportModelMetric("weather", "accuracy", accuracy, { min: 0.6 });
 * });
 * // automation: on model.metric.breached (resource model:weather, labels { metric: accuracy }) → rollback-model weather, notify
 */
import { BatonError } from "../core/errors.ts";
import { emitEvent } from "./events.ts";

export interface ModelMetricBounds {
  /** Below this the metric is breached. */
  min?: number;
  /** Above this the metric is breached. */
  max?: number;
  /** The alias the measured version serves under (default "production"), for the event's payload. */
  alias?: string;
  /** The measured version, when the caller knows it. */
  version?: number;
}

export interface ModelMetricReport {
  model: string;
  metric: string;
  value: number;
  breached: boolean;
  /** Why it is breached ("accuracy 0.41 < min 0.6"), else null. */
  reason: string | null;
}

const NAME = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** Records a model's live metric (event `model.metric`) and, outside its bounds, `model.metric.breached`. */
export async function reportModelMetric(model: string, metric: string, value: number, bounds: ModelMetricBounds = {}): Promise<ModelMetricReport> {
  if (typeof model !== "string" || !NAME.test(model)) throw new BatonError(`reportModelMetric(model): ${JSON.stringify(model)} is not a model name (letters, digits and _ . : @ -)`);
  if (typeof metric !== "string" || !NAME.test(metric)) throw new BatonError(`reportModelMetric(metric): ${JSON.stringify(metric)} is not a metric name (letters, digits and _ . : @ -)`);
  if (typeof value !== "number" || !Number.isFinite(value)) throw new BatonError(`reportModelMetric: ${metric} must be a finite number, got ${String(value)}`);
  for (const key of ["min", "max"] as const)
    if (bounds[key] !== undefined && (typeof bounds[key] !== "number" || !Number.isFinite(bounds[key]))) throw new BatonError(`reportModelMetric: bounds.${key} must be a finite number, got ${String(bounds[key])}`);
  const reason =
    bounds.min !== undefined && value < bounds.min ? `${metric} ${value} < min ${bounds.min}` : bounds.max !== undefined && value > bounds.max ? `${metric} ${value} > max ${bounds.max}` : null;
  // The metric as a label: an automation can react to one metric's breach (`match: { labels: { metric: accuracy } }`).
  const resource = { id: `model:${model}`, name: model, labels: { kind: "model", metric } };
  const payload = { model, metric, value, min: bounds.min ?? null, max: bounds.max ?? null, alias: bounds.alias ?? "production", version: bounds.version ?? null };
  await emitEvent("model.metric", { resource, payload });
  if (reason) await emitEvent("model.metric.breached", { resource, payload: { ...payload, reason } });
  return { model, metric, value, breached: reason !== null, reason };
}
