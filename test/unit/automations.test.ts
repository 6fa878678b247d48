/**
 * The pure parts of automations: the spec (strict, every error naming its field), durations,
 * templates (typed whole placeholders, missing paths named), and the triggers' state machines
 * — reactive windows and thresholds, for_each buckets, proactive deadlines, compound all/any.
 */
import { describe, expect, it } from "vitest";
import { AutomationSpecError, compileAutomationSpec, type CompoundTrigger, type EventTrigger, type Trigger } from "../../src/core/automation-spec.ts";
import { applyEvent, applyTick, bucketIdle, bucketOf, triggerMatches, type BucketState, type Fired } from "../../src/core/automation-triggers.ts";
import { bucketsToRead } from "../../src/core/automation-evaluation.ts";
import { renderTemplate, TemplateError } from "../../src/core/automation-templates.ts";
import { formatDuration, parseDuration } from "../../src/core/durations.ts";
import type { EventRecord } from "../../src/core/event-records.ts";

const MIN = 60_000;
let seq = 0;
const ev = (event: string, occurred: number, fields: Partial<EventRecord> = {}): EventRecord => ({
  seq: ++seq,
  id: `e${seq}`,
  occurred,
  received: occurred,
  event,
  resource: { id: "run-1", labels: {} },
  related: [],
  payload: {},
  ...fields,
});

const spec = (trigger: Record<string, unknown>, actions: unknown[] = [{ type: "emit-event", event: "x.y", resource: { id: "r" } }]) => ({ name: "a", trigger, actions });
const compile = (trigger: Record<string, unknown>) => compileAutomationSpec(spec(trigger)).trigger;
const specError = (input: unknown): AutomationSpecError => {
  try {
    compileAutomationSpec(input);
  } catch (error) {
    if (error instanceof AutomationSpecError) return error;
    throw error;
  }
  throw new Error("the spec was accepted");
};

/** Feeds events through one bucket, returning each firing. */
function run(trigger: Trigger, events: EventRecord[]): Fired[] {
  const states = new Map<string, BucketState>();
  const fired: Fired[] = [];
  for (const e of events) {
    if (!triggerMatches(trigger, e)) continue;
    const bucket = bucketOf(trigger, e);
    if (bucket === null) continue;
    const step = applyEvent(trigger, states.get(bucket), e);
    states.set(bucket, step.state);
    if (step.fired) fired.push(step.fired);
  }
  return fired;
}

describe("durations", () => {
  it("reads a number and a unit, and writes them back", () => {
    expect([parseDuration("0s", "w"), parseDuration("10m", "w"), parseDuration("26h", "w"), parseDuration("1.5s", "w"), parseDuration("250ms", "w")]).toEqual([0, 600_000, 93_600_000, 1500, 250]);
    for (const bad of ["10", "1h30m", "m", "-1s", "10 minutes"]) expect(() => parseDuration(bad, "trigger.within"), bad).toThrow(/^trigger\.within must be a duration/);
    expect([formatDuration(600_000), formatDuration(0), formatDuration(1500)]).toEqual(["10m", "0s", "1500ms"]);
  });
});

describe("automation specs", () => {
  it("compiles the issue's example with its defaults", () => {
    const compiled = compileAutomationSpec({
      name: "train-on-new-data",
      trigger: { event: "data.arrived", match: {}, posture: "reactive", threshold: 1, within: "0s" },
      actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ event.payload.key }}" } }],
    });
    expect(compiled.trigger).toEqual({ kind: "event", events: ["data.arrived"], match: {}, posture: "reactive", threshold: 1, withinMs: 0, forEach: null });
    expect(compile({ event: ["baton.flow-run.*", "x"], within: "10m", threshold: 3, for_each: "related.flow" })).toMatchObject({ events: ["baton.flow-run.*", "x"], withinMs: 600_000, forEach: "related.flow" });
  });

  it("refuses unknown fields anywhere, naming their path", () => {
    expect(specError({ ...spec({ event: "a" }), colour: "red" }).field).toBe("colour");
    expect(specError(spec({ event: "a", threshhold: 3 }))).toMatchObject({ field: "trigger.threshhold", message: expect.stringMatching(/^trigger\.threshhold is not a field here/) });
    expect(specError(spec({ event: "a", match: { related: [{ role: "flow", nme: "x" }] } })).field).toBe("trigger.match.related[0].nme");
    expect(specError(spec({ event: "a" }, [{ type: "run-deployment", deployment: "d", params: {} }])).field).toBe("actions[0].params");
  });

  it("names the accepted action types for an unknown one", () => {
    const error = specError(spec({ event: "a" }, [{ type: "page-someone", channel: "x" }]));
    expect(error.field).toBe("actions[0].type");
    expect(error.message).toMatch(/actions\[0\]\.type must be one of run-deployment, pause-deployment, .*call-webhook, notify/);
  });

  it("checks patterns, durations, windows and for_each", () => {
    expect(specError(spec({ event: "a..b" })).field).toBe("trigger.event");
    expect(specError(spec({ event: "a", within: "ten minutes" })).field).toBe("trigger.within");
    expect(specError(spec({ event: "a", threshold: 3 })).message).toMatch(/trigger\.within: a threshold of 3 needs a window/);
    expect(specError(spec({ event: "a", posture: "proactive" })).field).toBe("trigger.within");
    expect(specError(spec({ event: "a", for_each: "payload.key" })).field).toBe("trigger.for_each");
    expect(specError(spec({ event: "a", match: { related: [{ role: "flow" }] } })).field).toBe("trigger.match.related[0]");
    expect(specError(spec({ all: [{ event: "a" }, { event: "b" }] })).field).toBe("trigger.within");
    expect(specError(spec({ all: [{ event: "a" }, { event: "b", posture: "proactive", within: "1h" }], within: "1h" })).field).toBe("trigger.all[1].posture");
    expect(specError(spec({ any: [{ event: "a", bogus: 1 }] })).field).toBe("trigger.any[0].bogus");
    expect(specError({ name: "a", trigger: { event: "a" }, actions: [] }).field).toBe("actions");
    expect(specError({ trigger: { event: "a" }, actions: [] }).message).toMatch(/^name is required/);
  });

  it("refuses templates that read anything but event, automation and firing, and event in a proactive automation", () => {
    const bad = specError(spec({ event: "a" }, [{ type: "run-deployment", deployment: "d", parameters: { key: "{{ payload.key }}" } }]));
    expect(bad.field).toBe("actions[0].parameters.key");
    expect(bad.message).toMatch(/refers to "payload", which templates here cannot read; they read event, automation, firing/);
    expect(specError(spec({ event: "a" }, [{ type: "run-deployment", deployment: "d", parameters: { key: "{{ event..x }}" } }])).field).toBe("actions[0].parameters.key");
    const proactive = specError(spec({ event: "a", posture: "proactive", within: "1h" }, [{ type: "run-deployment", deployment: "d", parameters: { k: "{{ event.id }}" } }]));
    expect(proactive.message).toMatch(/proactive trigger fires because no event came/);
    expect(specError(spec({ event: "a" }, [{ type: "emit-event", event: "baton.x", resource: { id: "r" } }])).field).toBe("actions[0].event");
    expect(specError(spec({ event: "a" }, [{ type: "call-webhook", url: "ftp://x" }])).field).toBe("actions[0].url");
  });
});

describe("templates", () => {
  const context = { event: { id: "e1", payload: { key: "raw/2026-12-03.csv", size: 12, tags: ["a"], meta: { x: 1 } }, related: [{ role: "flow", name: "etl" }] }, firing: { id: "f1" } };
  it("keeps the JSON type of a whole placeholder and writes out the others", () => {
    expect(renderTemplate({ key: "{{ event.payload.key }}", size: "{{event.payload.size}}", meta: "{{ event.payload.meta }}", text: "file {{ event.payload.key }} ({{ event.payload.size }} B) {{ event.payload.meta }}", flow: "{{ event.related[0].name }}", n: 3 }, context, "parameters")).toEqual({
      key: "raw/2026-12-03.csv",
      size: 12,
      meta: { x: 1 },
      text: 'file raw/2026-12-03.csv (12 B) {"x":1}',
      flow: "etl",
      n: 3,
    });
  });
  it("fails on a missing path, naming the field and where the path ended", () => {
    expect(() => renderTemplate({ key: "{{ event.payload.missing }}" }, context, "actions[0].parameters")).toThrow(TemplateError);
    expect(() => renderTemplate({ key: "{{ event.payload.missing }}" }, context, "actions[0].parameters")).toThrow("actions[0].parameters.key: {{ event.payload.missing }} has no value: event.payload.missing is missing");
    expect(() => renderTemplate("x {{ automation.name }}", context, "url")).toThrow(/automation is missing/);
  });
});

describe("reactive triggers", () => {
  it("fires on every matching event with threshold 1 and no window", () => {
    const t = compile({ event: "data.arrived" });
    expect(run(t, [ev("data.arrived", 1), ev("data.other", 2), ev("data.arrived", 3)]).map((f) => f.events.map((e) => e.occurred))).toEqual([[1], [3]]);
  });

  it("fires once per window: 3 failures within 10 minutes", () => {
    const t = compile({ event: "baton.flow-run.Failed", threshold: 3, within: "10m" });
    const times = [0, 2 * MIN, 20 * MIN, 21 * MIN, 25 * MIN, 26 * MIN, 27 * MIN, 28 * MIN];
    const fired = run(t, times.map((at) => ev("baton.flow-run.Failed", at)));
    // 0 and 2 expire; 20, 21, 25 fire; 26, 27, 28 fire the next window.
    expect(fired.map((f) => f.events.map((e) => e.occurred / MIN))).toEqual([[20, 21, 25], [26, 27, 28]]);
    expect(fired[0]).toMatchObject({ reason: "threshold", windowStart: 20 * MIN, windowEnd: 25 * MIN });
  });

  it("matches resource, labels and related resources", () => {
    const t = compile({ event: "baton.flow-run.*", match: { labels: { "state-type": "FAILED" }, related: [{ role: "flow", name: "etl" }, { role: "tag", id: "prod" }] } });
    const flow = { role: "flow", id: "f1", name: "etl" };
    const prod = { role: "tag", id: "prod", name: "prod" };
    const failed = { id: "r", labels: { "state-type": "FAILED" } };
    expect(triggerMatches(t, ev("baton.flow-run.Failed", 1, { resource: failed, related: [flow, prod] }))).toBe(true);
    expect(triggerMatches(t, ev("baton.flow-run.Failed", 1, { resource: failed, related: [flow] }))).toBe(false);
    expect(triggerMatches(t, ev("baton.flow-run.Completed", 1, { resource: { id: "r", labels: { "state-type": "COMPLETED" } }, related: [flow, prod] }))).toBe(false);
    expect(triggerMatches(compile({ event: "a", match: { resource: "x", name: "n" } }), ev("a", 1, { resource: { id: "x", name: "n" } }))).toBe(true);
  });

  it("keeps a window per for_each value, and skips events without one", () => {
    const t = compile({ event: "baton.flow-run.Failed", threshold: 2, within: "10m", for_each: "related.flow" });
    const of = (flow: string | null, at: number) => ev("baton.flow-run.Failed", at, { related: flow ? [{ role: "flow", id: flow }] : [] });
    const fired = run(t, [of("a", 1), of("b", 2), of(null, 3), of("b", 4), of("a", 5), of("a", 6)]);
    expect(fired.map((f) => f.events.map((e) => e.occurred))).toEqual([[2, 4], [1, 5]]);
    expect(bucketOf(compile({ event: "a", for_each: "labels.kind" }), ev("a", 1, { resource: { id: "r", labels: { kind: "flow-run" } } }))).toBe("flow-run");
    expect(bucketOf(compile({ event: "a", for_each: "resource.name" }), ev("a", 1))).toBeNull();
  });
});

describe("proactive triggers", () => {
  const t = compile({ event: "baton.flow-run.Completed", posture: "proactive", within: "26h", match: { related: [{ role: "flow", name: "nightly-train" }] } }) as EventTrigger;
  const H = 3_600_000;

  it("fires once when the deadline passes without the event, then opens the next window at that tick", () => {
    expect(applyTick(t, undefined, 25 * H, 0).fired).toBeNull();
    const late = applyTick(t, undefined, 27 * H, 0);
    expect(late.fired).toEqual({ reason: "absence", events: [], windowStart: 0, windowEnd: 26 * H });
    expect(applyTick(t, late.state, 28 * H, 0).fired).toBeNull();
    expect(applyTick(t, late.state, 27 * H + 26 * H, 0).fired).not.toBeNull();
  });

  it("does not fire when the event came; the next deadline counts from it", () => {
    const completed = ev("baton.flow-run.Completed", 20 * H, { related: [{ role: "flow", id: "f", name: "nightly-train" }] });
    const { state } = applyEvent(t, undefined, completed);
    expect(applyTick(t, state, 40 * H, 0).fired).toBeNull();
    expect(applyTick(t, state, 46 * H, 0).fired).toMatchObject({ windowStart: 20 * H, windowEnd: 46 * H });
  });
});

describe("compound triggers", () => {
  it("all: fires when every child fired within the window, once", () => {
    const t = compile({ all: [{ event: "a" }, { event: "b", threshold: 2, within: "1h" }], within: "10m" }) as CompoundTrigger;
    const fired = run(t, [ev("a", 0), ev("b", 11 * MIN), ev("b", 12 * MIN), ev("a", 13 * MIN), ev("a", 14 * MIN)]);
    // a@0 is too old when b fires at 12; a@13 completes the set; a@14 starts over.
    expect(fired.map((f) => [f.reason, f.events.map((e) => e.event + e.occurred / MIN)])).toEqual([["all", ["b11", "b12", "a13"]]]);
  });

  it("any: fires with whichever child fires, then every child starts over", () => {
    const t = compile({ any: [{ event: "a", threshold: 2, within: "1m" }, { event: "b" }] });
    expect(run(t, [ev("a", 0), ev("b", 1), ev("a", 2), ev("a", 3)]).map((f) => f.events.map((e) => e.event + e.occurred))).toEqual([["b1"], ["a2", "a3"]]);
  });
});

describe("idle buckets", () => {
  const reactive = compile({ event: "job.failed", threshold: 3, within: "10m", for_each: "related.flow" });
  const related = (flow: string) => ({ related: [{ role: "flow", id: flow }] });

  it("a reactive bucket is idle once every kept event left the window, and stays as good as empty", () => {
    const t0 = 1_000_000_000;
    const state = applyEvent(reactive, undefined, ev("job.failed", t0, related("a"))).state;
    expect(bucketIdle(reactive, state, t0 + 10 * MIN)).toBe(false);
    expect(bucketIdle(reactive, state, t0 + 10 * MIN + 1)).toBe(true);
    // What makes dropping it safe: the next event counts the same with the state or without it.
    const later = ev("job.failed", t0 + 11 * MIN, related("a"));
    expect(applyEvent(reactive, state, later)).toEqual(applyEvent(reactive, undefined, later));
    expect(bucketIdle(reactive, {}, t0)).toBe(true);
  });

  it("never drops a proactive, compound or metric bucket", () => {
    const proactive = compile({ event: "nightly.done", posture: "proactive", within: "1h", for_each: "related.flow" });
    expect(bucketIdle(proactive, { windowStart: 0, count: 0 }, Number.MAX_SAFE_INTEGER)).toBe(false);
    const compound = compile({ any: [{ event: "a.b" }, { event: "c.d" }] });
    expect(bucketIdle(compound, { children: [] }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it("reads every bucket of triggers with one bucket or a clock, and only the touched ones of reactive for_each", () => {
    const proactive = compile({ event: "job.failed", posture: "proactive", within: "1h", for_each: "related.flow" });
    const plain = compile({ event: "job.failed" });
    const automations = [
      { id: "r", name: "r", trigger: reactive, activeSince: 0 },
      { id: "p", name: "p", trigger: proactive, activeSince: 0 },
      { id: "n", name: "n", trigger: plain, activeSince: 0 },
      { id: "late", name: "late", trigger: reactive, activeSince: Number.MAX_SAFE_INTEGER },
    ];
    const events = [ev("job.failed", 5, related("a")), ev("job.failed", 6, related("b")), ev("job.failed", 7, related("a")), ev("other.thing", 8, related("c")), ev("job.failed", 9)];
    const wanted = bucketsToRead(automations, events);
    expect(wanted.whole).toEqual(["p", "n"]);
    expect([...wanted.some].map(([id, keys]) => [id, [...keys].sort()])).toEqual([["r", ["a", "b"]]]);
  });
});
