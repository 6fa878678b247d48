/**
 * Tailing the durable event log (`events`, in `seq` order) for the event stream, with the same
 * guarantee as the live feed of states and logs (event-tail.ts, whose header explains it): no
 * event is skipped because it committed late, and none is delivered twice.
 *
 * SQLite assigns `seq` inside its one write lock, so "seq > last read" is exact. PostgreSQL takes
 * `seq` from a sequence at insert time and transactions commit in any order, so each read runs
 * in one REPEATABLE READ snapshot and remembers the seqs it jumped over (gaps); later reads ask
 * for them again until they appear or can no longer appear (`gapMayFill`).
 *
 * Unlike the live feed, a reader here needs its exact position after *each* event, not only
 * after a read: the stream gives every event its resume token (a client that disconnects half
 * way through a read resumes after the last event it got, with nothing repeated). A position is
 * a cursor plus the gaps still awaited, small enough to travel in a Last-Event-ID header.
 *
 * The tail reads every new row, whatever a reader's filter: on PostgreSQL a row the filter left
 * out would otherwise look like a gap, awaited until it times out.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database, EventsTable } from "./schema.ts";
import type { EventTailBatch, EventTailPosition } from "./types.ts";
import type { Dialect } from "./dialect.ts";
import { eventFromRow } from "./event-queries.ts";
import { gapMayFill, snapshotOf, START_WINDOW, subtract } from "./event-tail.ts";

/**
 * At most this many gaps are awaited per reader (they travel in resume tokens); beyond it the
 * oldest are given up. Gaps are one per concurrent writer caught mid-commit: a handful.
 */
export const MAX_EVENT_GAPS = 64;

/** The position after reading `seq`, from `position` (gaps opened by a jump, closed by a fill). */
function step(position: EventTailPosition, seq: number, snapshot: { xmax: string }, now: number): EventTailPosition {
  const pending = position.pending ?? [];
  if (seq <= position.seq) {
    const rest = pending.flatMap((g) => subtract(g, [seq]));
    return rest.length ? { seq: position.seq, pending: rest } : { seq: position.seq };
  }
  let next = pending;
  if (seq > position.seq + 1) {
    next = [...pending, { from: position.seq + 1, to: seq - 1, xmax: snapshot.xmax, seenAt: now }];
    if (next.length > MAX_EVENT_GAPS) next = [...next].sort((a, b) => a.seenAt - b.seenAt || a.from - b.from).slice(next.length - MAX_EVENT_GAPS);
  }
  return next.length ? { seq, pending: next } : { seq };
}

/** Events committed since `after`, at most `limit` rows, each with its position. */
export async function tailEventLog(db: Kysely<Database>, dialect: Dialect, after: EventTailPosition, limit: number): Promise<EventTailBatch> {
  if (dialect !== "postgres") {
    const rows = await db.selectFrom("events").selectAll().where("seq", ">", after.seq).orderBy("seq").limit(limit).execute();
    const events = rows.map((row) => ({ event: eventFromRow(row), after: { seq: Number(row.seq) } }));
    return { events, position: events.at(-1)?.after ?? { seq: after.seq } };
  }
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (tx) => {
      // The first statement fixes the snapshot the read below sees.
      const snapshot = await snapshotOf(tx);
      const gaps = after.pending ?? [];
      const rows: Selectable<EventsTable>[] = await tx
        .selectFrom("events")
        .selectAll()
        .where((eb) => eb.or([eb("seq", ">", after.seq), ...gaps.map((g) => eb.between("seq", g.from, g.to))]))
        .orderBy("seq")
        .limit(limit)
        .execute();
      const now = Date.now();
      let position: EventTailPosition = after;
      const events = rows.map((row) => {
        position = step(position, Number(row.seq), snapshot, now);
        return { event: eventFromRow(row), after: position };
      });
      // A read cut short by its limit may have left rows of old gaps unread: nothing given up.
      if (rows.length < limit && position.pending) {
        const left = position.pending.filter((g) => gapMayFill(g, snapshot, now));
        position = left.length ? { seq: position.seq, pending: left } : { seq: position.seq };
      }
      return { events, position };
    });
}

/**
 * Where a new reader starts: after the newest event. On PostgreSQL, seqs missing among the
 * newest few hundred may belong to transactions still open; they are awaited like any gap.
 */
export async function eventTailStart(db: Kysely<Database>, dialect: Dialect): Promise<EventTailPosition> {
  if (dialect !== "postgres") {
    const row = await db.selectFrom("events").select((eb) => eb.fn.max("seq").as("max")).executeTakeFirst();
    return { seq: Number(row?.max ?? 0) };
  }
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (tx) => {
      const snapshot = await snapshotOf(tx);
      const seqs = (await tx.selectFrom("events").select("seq").orderBy("seq", "desc").limit(START_WINDOW).execute()).map((r) => Number(r.seq)).reverse();
      const now = Date.now();
      let position: EventTailPosition = { seq: (seqs[0] ?? 1) - 1 };
      for (const seq of seqs) position = step(position, seq, snapshot, now);
      return position;
    });
}
