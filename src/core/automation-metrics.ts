/**
 * Metric triggers: an automation that fires when a measure of finished runs crosses a
 * threshold, rather than on events.
 *
 *   trigger:
 *     metric: failure-rate        # or p95-duration, lateness
 *     of: { deployment: nightly } # or { flow: etl }; omitted: every run
 *     window: 1h                  # the runs of the last hour
 *     op: ">"                     # >, >=, <, <=
 *     threshold: 0.2
 *     minRuns: 5                  # fewer runs in the window: no verdict (default 1)
 *     every: 1m                   # how often it is measured (default 1m)
 *
 *   failure-rate   Failed and Crashed runs over the runs that finished in the window, 0..1
 *   p95-duration   the 95th percentile (nearest rank) of end − start, in seconds, of the runs
 *                  that completed in the window
 *   lateness       the 95th percentile of start − expected start, in seconds, of the runs
 *                  expected in the window; one not started yet counts as late until now
 *
 * The state machine is hysteresis, one state per automation: the condition becoming true fires
 * once and arms nothing more until a measurement finds it false — so a failure rate that stays
 * above the threshold for a day fires once, not once a minute. A window with fewer than
 * `minRuns` runs gives no verdict and leaves the state as it was (no data is not "recovered").
 * The store keeps the state with the automation's buckets, so a restart does not fire again.
 * Pure.
 */
import { z } from "zod";

export const METRICS = ["failure-rate", "p95-duration", "lateness"] as const;
export type MetricName = (typeof METRICS)[number];

export const METRIC_OPS = [">", ">=", "<", "<="] as const;
export type MetricOp = (typeof METRIC_OPS)[number];

const name = z.string().min(1).max(200);

/** The trigger as written; `window` and `every` are durations, checked by the compiler. */
export const metricTriggerSchema = z.strictObject({
  metric: z.enum(METRICS),
  of: z.strictObject({ flow: name.optional(), deployment: name.optional() }).optional(),
  window: z.string().max(40),
  op: z.enum(METRIC_OPS),
  threshold: z.number().finite(),
  minRuns: z.number().int().min(1).max(1_000_000).optional(),
  every: z.string().max(40).optional(),
});

/** A metric trigger with its defaults applied and its durations in ms. */
export interface MetricTrigger {
  kind: "metric";
  metric: MetricName;
  /** Whose runs: a flow's or a deployment's by name, or all (both null). */
  flow: string | null;
  deployment: string | null;
  windowMs: number;
  op: MetricOp;
  threshold: number;
  minRuns: number;
  everyMs: number;
}

export const METRIC_DEFAULTS = { minRuns: 1, everyMs: 60_000 } as const;

/** What one measurement found: the value (null when no run counted) over `runs` runs. */
export interface Measurement {
  metric: MetricName;
  value: number | null;
  runs: number;
  windowStart: number;
  windowEnd: number;
}

/** The hysteresis state of a metric trigger, stored as JSON with the automation's bucket. */
export interface MetricState {
  /** The condition held at the last measurement with a verdict (and so fired, once). */
  active: boolean;
  /** When it was last measured: the next measurement is due `every` later. */
  checkedAt: number;
  /** The last value measured, for people reading the state. */
  value: number | null;
}

export const compareMetric = (op: MetricOp, value: number, threshold: number): boolean =>
  op === ">" ? value > threshold : op === ">=" ? value >= threshold : op === "<" ? value < threshold : value <= threshold;

/** Whether the trigger is due to be measured at `now`. */
export const metricDue = (trigger: MetricTrigger, state: MetricState | undefined, now: number): boolean => !state || now - state.checkedAt >= trigger.everyMs;

/** The 0-based rank of the 95th percentile (nearest rank) among `count` sorted values. */
export const p95Rank = (count: number): number => Math.max(0, Math.ceil(0.95 * count) - 1);

/** The state after `m`, and whether the condition just became true (fire). */
export function metricStep(trigger: MetricTrigger, state: MetricState | undefined, m: Measurement, now: number): { state: MetricState; fire: boolean } {
  const active = state?.active ?? false;
  if (m.value === null || m.runs < trigger.minRuns) return { state: { active, checkedAt: now, value: m.value }, fire: false };
  const holds = compareMetric(trigger.op, m.value, trigger.threshold);
  return { state: { active: holds, checkedAt: now, value: m.value }, fire: holds && !active };
}
