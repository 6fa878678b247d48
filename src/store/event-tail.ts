/**
 * Tailing the append-only `states` and `logs` tables (the live event feed) without losing rows
 * that commit late.
 *
 * SQLite has one writer at a time, which assigns ids inside its write lock: ids become visible
 * in order, and "id > last read" is exact. PostgreSQL takes an id from a sequence when a row is
 * inserted, but transactions commit in any order: a reader can see id 8 while 7 is still
 * uncommitted and, reading "id > 8" next, would skip 7 forever. So on PostgreSQL each read runs
 * in one REPEATABLE READ snapshot and remembers the ids it jumped over (gaps); every later read
 * asks for them again, until they show up or can no longer show up: every transaction that was
 * running when the gap was found has ended (a later snapshot's xmin has passed the xmax of the
 * snapshot that found it), so the id belonged to a rolled-back insert or a failed statement.
 * A transaction gets its id only at its first write — for a plain INSERT, just after it took
 * the sequence value — so a gap is also kept for at least GAP_GRACE_MS.
 */
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import type { Database } from "./schema.ts";
import type { Dialect } from "./dialect.ts";
import { logFromRow, stateFromRow } from "./rows.ts";
import type { LogRecord, StateRecord, TailBatch, TailGap, TailPosition } from "./types.ts";

/** A gap is kept at least this long, whatever the snapshots say (see the module comment). */
export const GAP_GRACE_MS = 5_000;
/** At most this many gaps are tracked per reader; beyond it the oldest are given up. */
export const MAX_GAPS = 1_000;

type Table = "states" | "logs";
type Db = Kysely<Database> | Transaction<Database>;

export async function tailEvents(db: Kysely<Database>, dialect: Dialect, after: TailPosition, limit: number): Promise<TailBatch> {
  if (dialect !== "postgres") {
    const [states, logs] = await Promise.all([readAbove(db, "states", after.stateId, limit), readAbove(db, "logs", after.logId, limit)]);
    return {
      states: states.map(stateFromRow),
      logs: logs.map(logFromRow),
      position: { stateId: Number(states.at(-1)?.id ?? after.stateId), logId: Number(logs.at(-1)?.id ?? after.logId) },
    };
  }
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (tx) => {
      // The first statement fixes the transaction's snapshot: the reads below see exactly it.
      const snapshot = await snapshotOf(tx);
      const gaps = after.pending ?? [];
      const [states, logs] = [
        await readWithGaps(tx, "states", after.stateId, gaps, limit),
        await readWithGaps(tx, "logs", after.logId, gaps, limit),
      ];
      const now = Date.now();
      const s = advance("states", after.stateId, states.map((r) => Number(r.id)), gaps, snapshot, now, states.length >= limit);
      const l = advance("logs", after.logId, logs.map((r) => Number(r.id)), gaps, snapshot, now, logs.length >= limit);
      let pending = [...s.gaps, ...l.gaps];
      if (pending.length > MAX_GAPS) pending = pending.sort((a, b) => a.seenAt - b.seenAt).slice(pending.length - MAX_GAPS);
      return {
        states: states.map(stateFromRow),
        logs: logs.map(logFromRow),
        position: { stateId: s.cursor, logId: l.cursor, ...(pending.length ? { pending } : {}) },
      };
    });
}

/**
 * Where a new reader starts: after the newest rows. On PostgreSQL, ids missing among the newest
 * few hundred may belong to transactions still open; they are awaited like any gap.
 */
export async function tailStart(db: Kysely<Database>, dialect: Dialect): Promise<TailPosition> {
  if (dialect !== "postgres") {
    const [s, l] = await Promise.all([
      db.selectFrom("states").select((eb) => eb.fn.max("id").as("max")).executeTakeFirst(),
      db.selectFrom("logs").select((eb) => eb.fn.max("id").as("max")).executeTakeFirst(),
    ]);
    return { stateId: Number(s?.max ?? 0), logId: Number(l?.max ?? 0) };
  }
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (tx) => {
      const snapshot = await snapshotOf(tx);
      const newest = async (table: Table) =>
        (await tx.selectFrom(table).select("id").orderBy("id", "desc").limit(START_WINDOW).execute()).map((r) => Number(r.id)).reverse();
      const now = Date.now();
      const [states, logs] = [await newest("states"), await newest("logs")];
      // Holes among the newest ids; "truncated" so that none is given up before it is re-read.
      const s = advance("states", (states[0] ?? 1) - 1, states, [], snapshot, now, true);
      const l = advance("logs", (logs[0] ?? 1) - 1, logs, [], snapshot, now, true);
      const pending = [...s.gaps, ...l.gaps];
      return { stateId: s.cursor, logId: l.cursor, ...(pending.length ? { pending } : {}) };
    });
}

/** How many of the newest ids a new PostgreSQL reader checks for holes. */
export const START_WINDOW = 500;

/** States and logs above fixed ids, optionally of one flow run (a replay for a reconnecting client). */
export async function eventsAfter(
  db: Kysely<Database>,
  after: { stateId: number; logId: number },
  options: { flowRunId?: string; limit: number },
): Promise<{ states: StateRecord[]; logs: LogRecord[] }> {
  const [states, logs] = await Promise.all([
    readAbove(db, "states", after.stateId, options.limit, options.flowRunId),
    readAbove(db, "logs", after.logId, options.limit, options.flowRunId),
  ]);
  return { states: states.map(stateFromRow), logs: logs.map(logFromRow) };
}

/**
 * Where a client may resume without missing anything: below every id still awaited. Resuming
 * there can repeat events already delivered; clients drop repeats by id.
 */
export function resumePoint(position: TailPosition): { stateId: number; logId: number } {
  let { stateId, logId } = position;
  for (const gap of position.pending ?? []) {
    if (gap.table === "states") stateId = Math.min(stateId, gap.from - 1);
    else logId = Math.min(logId, gap.from - 1);
  }
  return { stateId, logId };
}

function readAbove<T extends Table>(db: Db, table: T, id: number, limit: number, flowRunId?: string) {
  let query = db.selectFrom(table as Table).selectAll().where("id", ">", id);
  if (flowRunId) query = query.where("flow_run_id", "=", flowRunId);
  return query.orderBy("id").limit(limit).execute() as Promise<Array<Selectable<Database[T]>>>;
}

function readWithGaps<T extends Table>(tx: Db, table: T, cursor: number, gaps: readonly TailGap[], limit: number) {
  const mine = gaps.filter((g) => g.table === table);
  return tx
    .selectFrom(table as Table)
    .selectAll()
    .where((eb) => eb.or([eb("id", ">", cursor), ...mine.map((g) => eb.between("id", g.from, g.to))]))
    .orderBy("id")
    .limit(limit)
    .execute() as Promise<Array<Selectable<Database[T]>>>;
}

/**
 * The cursor and gaps of one table after a read that returned `ids` (ascending): ids found
 * inside old gaps close them, jumps above the cursor open new ones, and gaps that can no longer
 * fill are dropped — never after a read cut short by its limit, which may have left rows unread.
 */
export function advance(
  table: Table,
  cursor: number,
  ids: readonly number[],
  gaps: readonly TailGap[],
  snapshot: { xmin: string; xmax: string },
  now: number,
  truncated: boolean,
): { cursor: number; gaps: TailGap[] } {
  const out: TailGap[] = [];
  for (const gap of gaps) if (gap.table === table) out.push(...subtract(gap, ids));
  let last = cursor;
  for (const id of ids) {
    if (id <= cursor) continue;
    if (id > last + 1) out.push({ table, from: last + 1, to: id - 1, xmax: snapshot.xmax, seenAt: now });
    last = id;
  }
  if (truncated) return { cursor: last, gaps: out };
  return { cursor: last, gaps: out.filter((g) => gapMayFill(g, snapshot, now)) };
}

/**
 * Whether ids of a gap may still appear: some transaction running when the gap was found may
 * not have ended yet (`snapshot` is a later one), or the grace period has not passed.
 */
export function gapMayFill(gap: { xmax: string; seenAt: number }, snapshot: { xmin: string }, now: number): boolean {
  return !(BigInt(snapshot.xmin) >= BigInt(gap.xmax) && now - gap.seenAt >= GAP_GRACE_MS);
}

/** The parts of a gap not covered by `ids`. */
export function subtract<G extends { from: number; to: number }>(gap: G, ids: readonly number[]): G[] {
  const inside = ids.filter((id) => id >= gap.from && id <= gap.to);
  if (!inside.length) return [gap];
  const parts: G[] = [];
  let from = gap.from;
  for (const id of inside) {
    if (id > from) parts.push({ ...gap, from, to: id - 1 });
    from = id + 1;
  }
  if (from <= gap.to) parts.push({ ...gap, from, to: gap.to });
  return parts;
}

/** The transaction's snapshot bounds (the first statement of a repeatable-read transaction fixes it). */
export async function snapshotOf(tx: Kysely<Database>): Promise<{ xmin: string; xmax: string }> {
  return (await sql<{ xmin: string; xmax: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin, pg_snapshot_xmax(pg_current_snapshot())::text as xmax`.execute(tx)).rows[0]!;
}
