/**
 * A flow run's task runs and dependencies as the dashboard's task table (schemas/task-table.ts):
 * the same SQL on SQLite and PostgreSQL.
 *
 * Only the columns the page draws are read (no tags, cache keys or result ids; an error's JSON
 * is parsed only where there is one), which for 100,000 task runs is a third of the time of
 * reading whole rows. Task runs are read in pages along the (flow_run_id, task_key) unique
 * index, yielding to the event loop between pages: better-sqlite3 is synchronous, and one
 * 100,000-row read would hold every other request — the page's own script among them — until
 * it ends. Reading along the index also needs no sort in the database; rows are then put in
 * call order (created_at, then task_key) by a stable sort on created_at in memory, which gives
 * the order of `ORDER BY created_at, task_key` in the database's own collation.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { TaskTable } from "../schemas/task-table.ts";
import type { Database, TaskRunsTable } from "./schema.ts";

/** Task runs read per statement: small enough that a page holds the event loop for a few ms. */
export const TASK_TABLE_PAGE = 5000;

const COLUMNS = ["id", "task_key", "task_name", "state_type", "state_name", "state_message", "state_timestamp", "run_count", "error", "created_at", "start_time", "end_time"] as const;

type Row = Pick<TaskRunsTable, (typeof COLUMNS)[number]>;

const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** The task table of a flow run (empty columns for a run without task runs). */
export async function readTaskTable(db: Kysely<Database>, flowRunId: string, page = TASK_TABLE_PAGE): Promise<TaskTable> {
  const rows: Row[] = [];
  let after: string | null = null;
  for (;;) {
    const chunk = await db
      .selectFrom("task_runs")
      .select(COLUMNS)
      .where("flow_run_id", "=", flowRunId)
      .$if(after !== null, (q) => q.where("task_key", ">", after!))
      .orderBy("task_key")
      .limit(page)
      .execute();
    for (const row of chunk) rows.push(row);
    if (chunk.length < page) break;
    after = chunk[chunk.length - 1]!.task_key;
    await nextTurn();
  }
  const created = rows.map((r) => num(r.created_at));
  const order = rows.map((_, i) => i).sort((a, b) => created[a]! - created[b]!);
  const dependencies = await db.selectFrom("task_dependencies").select(["task_run_id", "upstream_task_run_id", "kind"]).where("flow_run_id", "=", flowRunId).execute();

  let base = Infinity;
  for (const c of created) if (c < base) base = c;
  if (!Number.isFinite(base)) base = 0;
  const table: TaskTable = { base, ids: [], keys: [], names: [], taskNames: [], states: [], stateNames: [], stateTypes: [], stateAt: [], runCounts: [], start: [], end: [], messages: [], errors: [], deps: [] };
  const nameIndex = new Map<string, number>();
  const stateIndex = new Map<string, number>();
  const rowOf = new Map<string, number>();
  order.forEach((from, i) => {
    const r = rows[from]!;
    rowOf.set(r.id, i);
    table.ids.push(r.id);
    table.keys.push(r.task_key);
    let name = nameIndex.get(r.task_name);
    if (name === undefined) {
      name = table.taskNames.push(r.task_name) - 1;
      nameIndex.set(r.task_name, name);
    }
    table.names.push(name);
    let state = stateIndex.get(r.state_name);
    if (state === undefined) {
      state = table.stateNames.push(r.state_name as TaskTable["stateNames"][number]) - 1;
      table.stateTypes.push(r.state_type as TaskTable["stateTypes"][number]);
      stateIndex.set(r.state_name, state);
    }
    table.states.push(state);
    table.stateAt.push(num(r.state_timestamp) - base);
    table.runCounts.push(Number(r.run_count));
    const start = numOrNull(r.start_time);
    const end = numOrNull(r.end_time);
    table.start.push(start === null ? null : start - base);
    table.end.push(end === null ? null : end - base);
    if (r.state_message) table.messages.push([i, r.state_message]);
    if (r.error) {
      const message = (JSON.parse(r.error) as { message?: string } | null)?.message;
      if (message) table.errors.push([i, message]);
    }
  });
  for (const d of dependencies) {
    const a = rowOf.get(d.task_run_id);
    const b = rowOf.get(d.upstream_task_run_id);
    if (a !== undefined && b !== undefined) table.deps.push(a, b, d.kind === "wait" ? 1 : 0);
  }
  return table;
}
