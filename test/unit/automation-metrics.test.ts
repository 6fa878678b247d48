/**
 * Metric triggers, pure: the spec (strict, each error naming its field), the comparison, the
 * nearest-rank percentile, when a measurement is due, and the hysteresis — fire when the
 * condition becomes true, not again while it holds, again after it was false; too few runs
 * give no verdict and change nothing.
 */
import { describe, expect, it } from "vitest";
import { AutomationSpecError, compileAutomationSpec } from "../../src/core/automation-spec.ts";
import { compareMetric, metricDue, metricStep, p95Rank, type Measurement, type MetricState, type MetricTrigger } from "../../src/core/automation-metrics.ts";
import { applyEvent, triggerMatches } from "../../src/core/automation-triggers.ts";

const MIN = 60_000;
const emit = { type: "emit-event", event: "x.y", resource: { id: "r" } };
const compile = (trigger: Record<string, unknown>, actions: unknown[] = [emit]) => compileAutomationSpec({ name: "m", trigger, actions }).trigger as MetricTrigger;
const specError = (trigger: Record<string, unknown>, actions: unknown[] = [emit]): AutomationSpecError => {
  try {
    compileAutomationSpec({ name: "m", trigger, actions });
  } catch (error) {
    if (error instanceof AutomationSpecError) return error;
    throw error;
  }
  throw new Error("the spec was accepted");
};
const base = { metric: "failure-rate", of: { deployment: "nightly" }, window: "1h", op: ">", threshold: 0.2 };
const measured = (value: number | null, runs = 10): Measurement => ({ metric: "failure-rate", value, runs, windowStart: 0, windowEnd: 0 });

describe("metric trigger spec", () => {
  it("compiles with defaults: every run counts, measured every minute", () => {
    expect(compile(base)).toEqual({ kind: "metric", metric: "failure-rate", flow: null, deployment: "nightly", windowMs: 60 * MIN, op: ">", threshold: 0.2, minRuns: 1, everyMs: MIN });
    expect(compile({ metric: "p95-duration", of: { flow: "etl" }, window: "30m", op: ">=", threshold: 120, minRuns: 5, every: "10s" })).toMatchObject({ flow: "etl", deployment: null, minRuns: 5, everyMs: 10_000 });
    expect(compile({ metric: "lateness", window: "1h", op: "<", threshold: 60 })).toMatchObject({ flow: null, deployment: null });
  });

  it("refuses what cannot be measured, naming the field", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...base, metric: "error-rate" }, "trigger.metric", /failure-rate/],
      [{ ...base, op: "=" }, "trigger.op", /.+/],
      [{ ...base, window: "soon" }, "trigger.window", /must be a duration/],
      [{ ...base, window: "0s" }, "trigger.window", /more than 0s/],
      [{ ...base, every: "100ms" }, "trigger.every", /at least 1s/],
      [{ ...base, threshold: 20 }, "trigger.threshold", /between 0 and 1 \(0\.2 is 20%\)/],
      [{ ...base, of: { flow: "etl", deployment: "nightly" } }, "trigger.of", /give one/],
      [{ ...base, of: { pool: "x" } }, "trigger.of.pool", /is not a field here/],
      [{ ...base, threshhold: 1 }, "trigger.threshhold", /is not a field here/],
      [{ metric: "lateness", window: "1h", op: ">" }, "trigger.threshold", /is required/],
    ];
    for (const [trigger, field, message] of cases) {
      const error = specError(trigger);
      expect(error.field, JSON.stringify(trigger)).toBe(field);
      expect(error.message).toMatch(message);
    }
  });

  it("has no event for templates or cancel-flow-run to read", () => {
    expect(specError(base, [{ ...emit, payload: { key: "{{ event.payload.key }}" } }]).message).toMatch(/refers to "event".*\(a metric trigger fires on a measurement, not an event\)/);
    expect(specError(base, [{ type: "cancel-flow-run" }]).field).toBe("actions[0].flow_run");
    expect(() => compile(base, [{ ...emit, payload: { rate: "{{ firing.measurement.value }}" } }])).not.toThrow();
  });

  it("reads no events", () => {
    const trigger = compile(base);
    const event = { seq: 1, id: "e", occurred: 0, received: 0, event: "baton.flow-run.Failed", resource: { id: "r" }, related: [], payload: {} };
    expect(triggerMatches(trigger, event)).toBe(false);
    expect(applyEvent(trigger, undefined, event).fired).toBeNull();
  });
});

describe("metric measurement and hysteresis", () => {
  it("compares with each operator", () => {
    expect([compareMetric(">", 0.3, 0.2), compareMetric(">", 0.2, 0.2), compareMetric(">=", 0.2, 0.2), compareMetric("<", 1, 2), compareMetric("<=", 2, 2), compareMetric("<", 2, 2)]).toEqual([true, false, true, true, true, false]);
  });

  it("takes the nearest rank for the 95th percentile", () => {
    // 20 values: the 19th (index 18); 100 values: the 95th; one value: itself.
    expect([p95Rank(1), p95Rank(20), p95Rank(100), p95Rank(21)]).toEqual([0, 18, 94, 19]);
  });

  it("is due every `every`, and first at once", () => {
    const trigger = compile({ ...base, every: "1m" });
    const state: MetricState = { active: false, checkedAt: 1000, value: 0 };
    expect([metricDue(trigger, undefined, 0), metricDue(trigger, state, 1000 + MIN - 1), metricDue(trigger, state, 1000 + MIN)]).toEqual([true, false, true]);
  });

  it("fires when the condition becomes true, once while it holds, again after it was false", () => {
    const trigger = compile({ ...base, minRuns: 5 });
    let state: MetricState | undefined;
    const fired: number[] = [];
    const sequence: [number | null, number][] = [
      [0.1, 10], // below
      [0.3, 10], // crosses: fires
      [0.5, 10], // still above: no
      [0.9, 3], // too few runs: no verdict, still armed off
      [0.1, 10], // back below: re-armed
      [0.1, 2], // too few runs after recovering: stays recovered
      [0.25, 10], // crosses again: fires
      [null, 0], // nothing ran: no verdict
    ];
    sequence.forEach(([value, runs], i) => {
      const step = metricStep(trigger, state, measured(value, runs), i);
      state = step.state;
      if (step.fire) fired.push(i);
      expect(state.checkedAt).toBe(i);
    });
    expect(fired).toEqual([1, 6]);
    expect(state).toEqual({ active: true, checkedAt: 7, value: null });
  });

  it("fires at the first measurement when the condition already holds", () => {
    expect(metricStep(compile(base), undefined, measured(0.5), 0).fire).toBe(true);
    // A restart reads the stored state: it does not fire again.
    expect(metricStep(compile(base), { active: true, checkedAt: 0, value: 0.5 }, measured(0.5), MIN).fire).toBe(false);
  });
});
