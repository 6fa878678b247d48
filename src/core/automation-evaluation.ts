/**
 * One pass of the automations' evaluator over a batch of the event log: every active
 * automation's trigger advanced by each event it matches (in log order), then, when the batch
 * reached the end of the log, proactive deadlines checked against the clock. Returns the bucket
 * states that changed and the firings; the store commits both with the new cursor in one
 * transaction (store/automation-store.ts). Pure.
 */
import type { EventRecord } from "./event-records.ts";
import type { Trigger } from "./automation-spec.ts";
import { applyEvent, applyTick, bucketOf, triggerMatches, type BucketState, type Fired } from "./automation-triggers.ts";

export interface ActiveAutomation {
  id: string;
  name: string;
  trigger: Trigger;
  /** Created, changed or resumed at: events received before it do not count, and a proactive window opens then. */
  activeSince: number;
}

export interface PendingFiring {
  automation: ActiveAutomation;
  bucket: string;
  fired: Fired;
  firedAt: number;
  /** The event that completed the firing (templates read it); null for a proactive one. */
  event: EventRecord | null;
}

/** The key of an automation's bucket in the maps below. */
export const bucketKey = (automationId: string, bucket: string) => `${automationId}\u0000${bucket}`;

export interface EvaluationResult {
  /** Changed buckets only, by `bucketKey`. */
  buckets: Map<string, { automationId: string; bucket: string; state: BucketState }>;
  firings: PendingFiring[];
}

/**
 * The buckets a pass over `events` reads: every bucket of a trigger the clock moves (proactive)
 * or that has one bucket (no `for_each`, compound, metric), and of a reactive `for_each` trigger
 * only the buckets the batch's events fall in — so a pass costs what the batch touches, not what
 * every run ever seen left behind.
 */
export function bucketsToRead(automations: readonly ActiveAutomation[], events: readonly EventRecord[]): { whole: string[]; some: Map<string, Set<string>> } {
  const whole: string[] = [];
  const some = new Map<string, Set<string>>();
  for (const automation of automations) {
    const t = automation.trigger;
    if (t.kind !== "event" || t.posture !== "reactive" || !t.forEach) {
      whole.push(automation.id);
      continue;
    }
    for (const event of events) {
      if (event.received < automation.activeSince || !triggerMatches(t, event)) continue;
      const bucket = bucketOf(t, event);
      if (bucket === null) continue;
      let keys = some.get(automation.id);
      if (!keys) some.set(automation.id, (keys = new Set()));
      keys.add(bucket);
    }
  }
  return { whole, some };
}

/**
 * `stored`: the buckets' states before the batch (by `bucketKey`). `caughtUp`: the batch ends at
 * the log's end; only then may a proactive deadline fire (an event still unread may be the one
 * that was expected).
 */
export function evaluateBatch(automations: readonly ActiveAutomation[], stored: ReadonlyMap<string, BucketState>, events: readonly EventRecord[], now: number, caughtUp: boolean): EvaluationResult {
  const changed: EvaluationResult["buckets"] = new Map();
  const firings: PendingFiring[] = [];
  const stateOf = (key: string) => changed.get(key)?.state ?? stored.get(key);
  for (const event of events)
    for (const automation of automations) {
      if (event.received < automation.activeSince || !triggerMatches(automation.trigger, event)) continue;
      const bucket = bucketOf(automation.trigger, event);
      if (bucket === null) continue;
      const key = bucketKey(automation.id, bucket);
      const step = applyEvent(automation.trigger, stateOf(key), event);
      changed.set(key, { automationId: automation.id, bucket, state: step.state });
      if (step.fired) firings.push({ automation, bucket, fired: step.fired, firedAt: now, event });
    }
  if (!caughtUp) return { buckets: changed, firings };
  for (const automation of automations) {
    const t = automation.trigger;
    if (t.kind !== "event" || t.posture !== "proactive") continue;
    const prefix = bucketKey(automation.id, "");
    const keys = new Set([...stored.keys(), ...changed.keys()].filter((k) => k.startsWith(prefix)));
    // Without for_each the one bucket exists from the start; with it, a bucket opens with its first event.
    if (!t.forEach) keys.add(prefix);
    for (const key of keys) {
      const step = applyTick(t, stateOf(key), now, automation.activeSince);
      const bucket = key.slice(prefix.length);
      if (step.fired) firings.push({ automation, bucket, fired: step.fired, firedAt: now, event: null });
      if (step.fired || stateOf(key) === undefined) changed.set(key, { automationId: automation.id, bucket, state: step.state });
    }
  }
  return { buckets: changed, firings };
}
