/**
 * Which stored events a reader wants: name patterns, a resource, a related resource, a time
 * window. One definition for every reader — the store's query (`listEvents`), the stream's tail
 * (which reads every new row and filters here, see store/event-log-tail.ts), the API's query
 * string and the CLI's flags — so "matches" means the same everywhere. Pure.
 */
import { eventMatches, type EventRecord } from "./event-records.ts";

/**
 * A name pattern: an exact name (`data.arrived`), a prefix ending in `*` (`baton.flow-run.*`,
 * `baton.flow-run.Fail*`), or `*` alone (every event).
 */
export const EVENT_PATTERN = /^(?:\*|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*(?:\.?\*)?)$/;

/** Names under this prefix are Baton's own: emitted by the store, never by users (forging them would mislead whatever reacts to them). */
export const RESERVED_EVENT_PREFIX = "baton.";

export interface EventFilter {
  /** Name patterns (any may match); none or `*`: every event. */
  event?: readonly string[];
  /** The id of the resource the event is about. */
  resource?: string;
  /** The id of a resource the event is related to (any role). */
  related?: string;
  /** The id of a resource the event is about or related to (a run's page shows both). */
  involves?: string;
  /** Occurred at or after (epoch ms). */
  since?: number;
  /** Occurred before (epoch ms). */
  until?: number;
}

/** `a.*,b.c` → the patterns, each checked; throws a TypeError naming `field` and the bad pattern. */
export function parseEventPatterns(text: string, field: string): string[] {
  const patterns = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of patterns)
    if (p.length > 200 || !EVENT_PATTERN.test(p))
      throw new TypeError(`${field}: "${p.slice(0, 80)}" is not an event pattern; use a dotted name (data.arrived), a prefix ending in * (baton.flow-run.*) or * alone`);
  return patterns;
}

/** Whether a stored event passes the filter (the same rules as the store's query). */
export function eventPassesFilter(filter: EventFilter, event: EventRecord): boolean {
  const patterns = filter.event ?? [];
  if (patterns.length && !patterns.some((p) => eventMatches(p, event.event))) return false;
  if (filter.resource !== undefined && event.resource.id !== filter.resource) return false;
  if (filter.related !== undefined && !event.related.some((r) => r.id === filter.related)) return false;
  if (filter.involves !== undefined && event.resource.id !== filter.involves && !event.related.some((r) => r.id === filter.involves)) return false;
  if (filter.since !== undefined && event.occurred < filter.since) return false;
  if (filter.until !== undefined && event.occurred >= filter.until) return false;
  return true;
}
