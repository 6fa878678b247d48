/**
 * Events from outside the store — the API's POST /api/events, webhooks, `emitEvent` — as their
 * senders give them: only a name and a resource are needed; the id, the time, the related
 * resources and the payload default here. Names under `baton.` are refused: those are Baton's
 * own (state changes, deployments...), and whatever reacts to them must be able to trust them.
 */
import { newId } from "./ids.ts";
import { EVENT_NAME, type NewEvent } from "./event-records.ts";
import { RESERVED_EVENT_PREFIX } from "./event-filter.ts";

/** An event as a sender gives it. */
export type EventInput = Pick<NewEvent, "event" | "resource"> & Partial<Omit<NewEvent, "event" | "resource">>;

/** The event with its defaults: a new UUIDv7, now, no related resources, an empty payload. */
export function completeEvent(input: EventInput, now = Date.now()): NewEvent {
  return {
    id: input.id ?? newId(),
    occurred: input.occurred ?? now,
    event: input.event,
    resource: input.resource,
    related: input.related ?? [],
    payload: input.payload ?? {},
  };
}

/** Why `name` (at `field`) cannot be emitted by a user, or null when it can. */
export function userEventNameProblem(name: unknown, field: string): string | null {
  if (typeof name !== "string" || !EVENT_NAME.test(name) || name.length > 200)
    return `${field} must be a dotted name of letters, digits, _ and - (e.g. data.arrived), at most 200 characters; got ${JSON.stringify(name)?.slice(0, 80)}`;
  if (name.startsWith(RESERVED_EVENT_PREFIX)) return `${field}: names under "${RESERVED_EVENT_PREFIX}" are Baton's own; choose another (got "${name.slice(0, 80)}")`;
  return null;
}
