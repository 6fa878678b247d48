/**
 * Reading and pruning the durable event log (the appends are event-log.ts's). Events are listed
 * in log order (`seq`), newest or oldest first, a page at a time behind an opaque cursor that
 * holds the last `seq` shown. A resource or related id is looked up through `event_resources`
 * (primary key `resource_id, event_seq, role`), so "the events of this run" is an index range
 * whatever the size of the log.
 */
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import type { EventRecord } from "../core/event-records.ts";
import { InvalidCursorError } from "../core/errors.ts";
import type { Database, EventsTable } from "./schema.ts";
import type { EventQuery, Page } from "./types.ts";

type Db = Kysely<Database> | Transaction<Database>;

export function eventFromRow(row: Selectable<EventsTable>): EventRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    occurred: Number(row.occurred),
    received: Number(row.received),
    event: row.event,
    resource: JSON.parse(row.resource) as EventRecord["resource"],
    related: JSON.parse(row.related) as EventRecord["related"],
    payload: JSON.parse(row.payload) as EventRecord["payload"],
  };
}

const encodeCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString("base64url");

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new InvalidCursorError(cursor);
  return Number(match[1]);
}

/** LIKE's wildcards escaped (`_` may appear in names); `\` is the escape character. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** One page of events matching the filter, in log order. */
export async function listEvents(db: Db, request: EventQuery): Promise<Page<EventRecord>> {
  const limit = request.limit ?? 100;
  const newest = (request.order ?? "newest") === "newest";
  let query = db.selectFrom("events").selectAll();
  const patterns = request.event ?? [];
  // `*` among the patterns takes every name: no condition.
  if (patterns.length && !patterns.includes("*"))
    query = query.where((eb) =>
      eb.or(patterns.map((p) => (p.endsWith("*") ? eb(sql<string>`event`, "like", sql<string>`${likePrefix(p.slice(0, -1))} escape '\\'`) : eb("event", "=", p)))),
    );
  if (request.resource !== undefined)
    query = query.where("seq", "in", (eb) => eb.selectFrom("event_resources").select("event_seq").where("resource_id", "=", request.resource!).where("role", "=", "resource"));
  if (request.related !== undefined)
    query = query.where("seq", "in", (eb) => eb.selectFrom("event_resources").select("event_seq").where("resource_id", "=", request.related!).where("role", "<>", "resource"));
  if (request.involves !== undefined)
    query = query.where("seq", "in", (eb) => eb.selectFrom("event_resources").select("event_seq").where("resource_id", "=", request.involves!));
  if (request.since !== undefined) query = query.where("occurred", ">=", request.since);
  if (request.until !== undefined) query = query.where("occurred", "<", request.until);
  if (request.cursor !== undefined) query = query.where("seq", newest ? "<" : ">", decodeCursor(request.cursor));
  const rows = await query
    .orderBy("seq", newest ? "desc" : "asc")
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(eventFromRow);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
}

/**
 * Deletes the events that occurred before `before`, with their index rows, in the caller's
 * transaction; returns how many events went.
 */
export async function deleteEventsBefore(tx: Db, before: number): Promise<number> {
  await tx
    .deleteFrom("event_resources")
    .where("event_seq", "in", tx.selectFrom("events").select("seq").where("occurred", "<", before))
    .execute();
  const result = await tx.deleteFrom("events").where("occurred", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
