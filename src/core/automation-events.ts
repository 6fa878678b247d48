/**
 * Events of automations, appended in the transaction of the change: `baton.automation.created
 * | updated | deleted | paused | resumed`, `baton.automation.triggered` (a firing, with the
 * events that caused it) and `baton.automation.action-failed` (an action that failed its last
 * attempt). The automation is the resource, its id its id. Pure builders.
 */
import { newId } from "./ids.ts";
import type { NewEvent, RelatedResource } from "./event-records.ts";
import type { MatchedEvent } from "./automation-triggers.ts";
import type { Measurement } from "./automation-metrics.ts";

export type AutomationChange = "created" | "updated" | "deleted" | "paused" | "resumed";

const resourceOf = (a: { id: string; name: string }) => ({ id: a.id, name: a.name, labels: { kind: "automation" } });

export function automationChangeEvent(change: AutomationChange, a: { id: string; name: string; paused: boolean }, now = Date.now()): NewEvent {
  return { id: newId(), occurred: now, event: `baton.automation.${change}`, resource: resourceOf(a), related: [], payload: { paused: a.paused } };
}

export function automationTriggeredEvent(
  a: { id: string; name: string },
  firing: { id: string; bucket: string; reason: string; firedAt: number; windowStart: number; windowEnd: number; events: readonly MatchedEvent[]; measurement?: Measurement | null },
): NewEvent {
  // The events that caused it are related: "what did event X set off" is one query.
  const related: RelatedResource[] = firing.events.slice(0, 50).map((e) => ({ role: "triggering-event", id: e.id, name: e.event }));
  return {
    id: newId(),
    occurred: firing.firedAt,
    event: "baton.automation.triggered",
    resource: resourceOf(a),
    related: [{ role: "automation-firing", id: firing.id, name: null }, ...related],
    payload: {
      firing: firing.id,
      bucket: firing.bucket,
      reason: firing.reason,
      windowStart: firing.windowStart,
      windowEnd: firing.windowEnd,
      events: firing.events.length,
      ...(firing.measurement ? { measurement: firing.measurement } : {}),
    },
  };
}

export function actionFailedEvent(
  a: { id: string; name: string },
  action: { id: string; firingId: string; index: number; type: string; attempts: number; error: string },
  now = Date.now(),
): NewEvent {
  return {
    id: newId(),
    occurred: now,
    event: "baton.automation.action-failed",
    resource: resourceOf(a),
    related: [{ role: "automation-firing", id: action.firingId, name: null }],
    payload: { action: action.id, index: action.index, type: action.type, attempts: action.attempts, error: action.error },
  };
}
