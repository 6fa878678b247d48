/**
 * When an automation fires: the trigger's state machine, one state per bucket (a bucket is one
 * value of `for_each`, or "" without it), advanced by each event the evaluator reads from the
 * log and, for proactive triggers, by the clock. Pure: the evaluator keeps the states in the
 * store and commits them with the cursor it read up to, so a restart resumes exactly here.
 *
 *   reactive   the matching events of the last `within` are kept (at most threshold - 1);
 *              the one that makes `threshold` fires, and the bucket starts empty again — each
 *              window fires once. `within: 0s` with threshold 1: every matching event fires.
 *   proactive  a window opens when the automation becomes active (or the bucket's first event
 *              for `for_each`); `threshold` matching events in it close it and open the next
 *              from the last of them. A tick past its deadline with fewer fires once, and the
 *              next window opens at that tick (a server down for three windows fires once).
 *   compound   each child trigger counts as a reactive trigger; a child that fires is
 *              remembered; `any` fires with the first, `all` when every child fired within
 *              `within` of the newest. Then every child starts over.
 */
import { eventMatches, type EventRecord } from "./event-records.ts";
import type { CompoundTrigger, EventTrigger, Trigger } from "./automation-spec.ts";
import type { MetricState } from "./automation-metrics.ts";

/** What a firing records of each event that led to it. */
export interface MatchedEvent {
  id: string;
  seq: number;
  event: string;
  occurred: number;
}

interface ChildState {
  /** Matching events inside the child's window, not yet enough to fire it. */
  events: MatchedEvent[];
  /** When the child last fired (its last event's time) and with which events; null: not since the last firing. */
  fired: { at: number; events: MatchedEvent[] } | null;
}

/** One bucket's state, stored as JSON. */
export interface BucketState {
  /** Reactive: matching events inside the window, fewer than the threshold. */
  events?: MatchedEvent[];
  /** Proactive: when the current window opened, and how many matching events came in it. */
  windowStart?: number;
  count?: number;
  /** Compound: one per child trigger. */
  children?: ChildState[];
  /** Metric: the hysteresis state (automation-metrics.ts); metric triggers read no events. */
  metric?: MetricState;
}

export interface Fired {
  /** threshold: enough events came; absence: they did not (proactive); all / any: compound; metric: a measurement crossed its threshold. */
  reason: "threshold" | "absence" | "all" | "any" | "metric";
  events: MatchedEvent[];
  windowStart: number;
  windowEnd: number;
}

export interface Step {
  state: BucketState;
  fired: Fired | null;
}

const matched = (e: EventRecord): MatchedEvent => ({ id: e.id, seq: e.seq, event: e.event, occurred: e.occurred });

/** Whether `event` is one the trigger counts: a name pattern, and every condition of `match`. */
export function eventMatchesTrigger(trigger: EventTrigger, event: EventRecord): boolean {
  if (!trigger.events.some((p) => eventMatches(p, event.event))) return false;
  const m = trigger.match;
  if (m.resource !== undefined && event.resource.id !== m.resource) return false;
  if (m.name !== undefined && event.resource.name !== m.name) return false;
  for (const [label, value] of Object.entries(m.labels ?? {})) if (event.resource.labels?.[label] !== value) return false;
  for (const r of m.related ?? [])
    if (!event.related.some((x) => x.role === r.role && (r.id === undefined || x.id === r.id) && (r.name === undefined || x.name === r.name))) return false;
  return true;
}

/** The bucket `event` counts in: "" without `for_each`; null when the event lacks the value (it counts nowhere). */
export function bucketOf(trigger: Trigger, event: EventRecord): string | null {
  if (trigger.kind !== "event" || !trigger.forEach) return "";
  const [head, ...rest] = trigger.forEach.split(".");
  const key = rest.join(".");
  if (head === "resource") return (key === "id" ? event.resource.id : event.resource.name) ?? null;
  if (head === "labels") return event.resource.labels?.[key] ?? null;
  return event.related.find((r) => r.role === key)?.id ?? null;
}

/** A reactive count: the events of the window plus `event`; fires at the threshold. */
function countReactive(trigger: EventTrigger, kept: readonly MatchedEvent[], event: MatchedEvent): { events: MatchedEvent[]; fired: MatchedEvent[] | null } {
  const inWindow = trigger.withinMs > 0 ? kept.filter((x) => x.occurred >= event.occurred - trigger.withinMs) : [];
  const events = [...inWindow, event].slice(-trigger.threshold);
  return events.length >= trigger.threshold ? { events: [], fired: events } : { events, fired: null };
}

/** A new window of a proactive trigger, opened at `at`. */
export const openWindow = (at: number): BucketState => ({ windowStart: at, count: 0 });

function eventStep(trigger: EventTrigger, state: BucketState | undefined, event: EventRecord): Step {
  if (trigger.posture === "proactive") {
    const s = state?.windowStart === undefined ? openWindow(event.occurred) : state;
    const count = (s.count ?? 0) + 1;
    // Enough came: this window is satisfied; the next is measured from this event.
    return { state: count >= trigger.threshold ? openWindow(event.occurred) : { windowStart: s.windowStart, count }, fired: null };
  }
  const { events, fired } = countReactive(trigger, state?.events ?? [], matched(event));
  if (!fired) return { state: { events }, fired: null };
  return { state: { events: [] }, fired: { reason: "threshold", events: fired, windowStart: fired[0]!.occurred, windowEnd: event.occurred } };
}

function compoundStep(trigger: CompoundTrigger, state: BucketState | undefined, event: EventRecord): Step {
  const children: ChildState[] = trigger.triggers.map((_, i) => state?.children?.[i] ?? { events: [], fired: null });
  trigger.triggers.forEach((child, i) => {
    if (!eventMatchesTrigger(child, event)) return;
    const c = children[i]!;
    const { events, fired } = countReactive(child, c.events, matched(event));
    children[i] = { events, fired: fired ? { at: event.occurred, events: fired } : c.fired };
  });
  // A child that fired longer ago than the window no longer counts towards `all`.
  const live = children.map((c) => (c.fired && trigger.withinMs > 0 && c.fired.at < event.occurred - trigger.withinMs ? { ...c, fired: null } : c));
  const done = trigger.require === "any" ? live.some((c) => c.fired?.at === event.occurred && c.fired.events.some((e) => e.id === event.id)) : live.every((c) => c.fired);
  if (!done) return { state: { children: live }, fired: null };
  const events = live.flatMap((c) => c.fired?.events ?? []).sort((a, b) => a.seq - b.seq);
  const fresh = trigger.triggers.map(() => ({ events: [], fired: null }));
  return { state: { children: fresh }, fired: { reason: trigger.require, events, windowStart: Math.min(...events.map((e) => e.occurred)), windowEnd: event.occurred } };
}

/** The bucket's state after `event` (which the caller checked matches: `triggerMatches`), and whether it fired. */
export function applyEvent(trigger: Trigger, state: BucketState | undefined, event: EventRecord): Step {
  if (trigger.kind === "metric") return { state: state ?? {}, fired: null };
  return trigger.kind === "compound" ? compoundStep(trigger, state, event) : eventStep(trigger, state, event);
}

/** Whether `event` moves the trigger at all (any child of a compound). */
export function triggerMatches(trigger: Trigger, event: EventRecord): boolean {
  if (trigger.kind === "metric") return false;
  return trigger.kind === "compound" ? trigger.triggers.some((t) => eventMatchesTrigger(t, event)) : eventMatchesTrigger(trigger, event);
}

/**
 * A proactive bucket at `now`: past its deadline with fewer than `threshold` events, it fires
 * once and opens the next window at `now`. Reactive triggers never fire on the clock.
 */
export function applyTick(trigger: Trigger, state: BucketState | undefined, now: number, activeSince: number): Step {
  if (trigger.kind !== "event" || trigger.posture !== "proactive") return { state: state ?? {}, fired: null };
  const s = state?.windowStart === undefined ? openWindow(activeSince) : state;
  const deadline = s.windowStart! + trigger.withinMs;
  if (now < deadline || (s.count ?? 0) >= trigger.threshold) return { state: s, fired: null };
  return { state: openWindow(now), fired: { reason: "absence", events: [], windowStart: s.windowStart!, windowEnd: deadline } };
}

/** When the bucket's proactive deadline falls, or null (reactive triggers have none). */
export function deadlineOf(trigger: Trigger, state: BucketState | undefined, activeSince: number): number | null {
  if (trigger.kind !== "event" || trigger.posture !== "proactive") return null;
  return (state?.windowStart ?? activeSince) + trigger.withinMs;
}

/**
 * Whether a bucket can be forgotten: a reactive event trigger's bucket whose kept events all
 * fell out of the window before `before` is the same as no bucket for any event from then on.
 * Proactive buckets (they fire on absence), compound and metric ones (one bucket each) are kept.
 */
export function bucketIdle(trigger: Trigger, state: BucketState, before: number): boolean {
  if (trigger.kind !== "event" || trigger.posture !== "reactive") return false;
  return (state.events ?? []).every((e) => e.occurred < before - trigger.withinMs);
}
