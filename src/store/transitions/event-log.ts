/**
 * Appending to the durable event log (`events` and its `event_resources` index), inside the
 * caller's transaction: the transition that emits an event and the event commit together (an
 * outbox), so no event is lost and none describes a change that did not happen.
 * Inputs: events with their UUIDv7 ids. Outcome: each stored once (an id already stored is
 * skipped, so a retried emit is idempotent), with one index row per resource it names.
 *
 * Two statements, hand-written like the rest of the write batch (batch-sql.ts): the events, then
 * their index rows, which find each event's `seq` by its id. They must run one after the other
 * in one transaction (not as sibling CTEs of one PostgreSQL statement, which cannot see each
 * other's rows).
 */
import type { NewEvent } from "../../core/event-records.ts";
import type { Statement } from "./batch-sql.ts";
import type { TransitionHost, Tx } from "./host.ts";

/** Events per statement: 8 parameters each, well under both databases' limits. */
const CHUNK = 500;

/** The ids an event is indexed under, with their roles: its resource and each related one. */
export function indexedResources(event: NewEvent): { resourceId: string; role: string }[] {
  const out = [{ resourceId: event.resource.id, role: "resource" }];
  const seen = new Set([`resource\u0000${event.resource.id}`]);
  for (const r of event.related) {
    const key = `${r.role}\u0000${r.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ resourceId: r.id, role: r.role });
  }
  return out;
}

const EVENT_COLUMNS = "(id, occurred, received, event, resource_id, resource, related, payload)";

/** The statements that append `events` (run them in order, in one transaction). */
export function eventStatements(events: readonly NewEvent[], received = Date.now()): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < events.length; i += CHUNK) {
    const part = events.slice(i, i + CHUNK);
    out.push({
      sql: `insert into events ${EVENT_COLUMNS} values ${part.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} on conflict (id) do nothing`,
      params: part.flatMap((e) => [e.id, e.occurred, received, e.event, e.resource.id, JSON.stringify(e.resource), JSON.stringify(e.related), JSON.stringify(e.payload)]),
    });
    const index = part.flatMap((e) => indexedResources(e).map((r) => [e.id, r.resourceId, r.role]));
    // `where true`: SQLite needs it to read ON CONFLICT as the upsert clause after a join.
    out.push({
      sql:
        `insert into event_resources (event_seq, resource_id, role) select e.seq, v.column2, v.column3 ` +
        `from (values ${index.map(() => "(?, ?, ?)").join(", ")}) as v join events e on e.id = v.column1 where true on conflict do nothing`,
      params: index.flat(),
    });
  }
  return out;
}

/** Appends events in the caller's transaction (any dialect). */
export async function appendEvents(tx: Tx, host: Pick<TransitionHost, "run">, events: readonly NewEvent[], received = Date.now()): Promise<void> {
  for (const s of eventStatements(events, received)) await host.run(tx, s);
}

/** Parameters per combined PostgreSQL statement, under its 65,535 limit. */
const MAX_COMBINED_PARAMS = 50_000;

/**
 * Runs `statements` (independent writes: row updates, history rows), then appends `events`, in
 * the caller's transaction. On PostgreSQL all of it is one statement of data-modifying CTEs —
 * one round trip for a transition's update, history and event — in which the index rows take
 * each event's `seq` from the events insert's RETURNING (sibling CTEs cannot see each other's
 * rows otherwise). On SQLite, statements prepared once run one after the other.
 */
export async function writeWithEvents(tx: Tx, host: Pick<TransitionHost, "run" | "dialect">, statements: readonly Statement[], events: readonly NewEvent[], received = Date.now()): Promise<void> {
  const combined = host.dialect === "postgres" ? combinedWithEvents(statements, events, received) : null;
  if (combined) {
    await host.run(tx, combined);
    return;
  }
  for (const s of [...statements, ...eventStatements(events, received)]) await host.run(tx, s);
}

function combinedWithEvents(statements: readonly Statement[], events: readonly NewEvent[], received: number): Statement | null {
  if (events.length === 0 || events.length > CHUNK) return null;
  const parts = statements.map((s, i) => ({ sql: `w${i} as (${s.sql})`, params: s.params }));
  const eventsSql = `ev as (insert into events ${EVENT_COLUMNS} values ${events.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} on conflict (id) do nothing returning seq, id)`;
  const eventParams = events.flatMap((e) => [e.id, e.occurred, received, e.event, e.resource.id, JSON.stringify(e.resource), JSON.stringify(e.related), JSON.stringify(e.payload)]);
  const index = events.flatMap((e) => indexedResources(e).map((r) => [e.id, r.resourceId, r.role]));
  const last =
    `insert into event_resources (event_seq, resource_id, role) select ev.seq, v.column2, v.column3 ` +
    `from ev join (values ${index.map(() => "(?, ?, ?)").join(", ")}) as v on v.column1 = ev.id on conflict do nothing`;
  const params = [...parts.flatMap((p) => p.params), ...eventParams, ...index.flat()];
  if (params.length > MAX_COMBINED_PARAMS) return null;
  return { sql: `with ${[...parts.map((p) => p.sql), eventsSql].join(", ")} ${last}`, params };
}
