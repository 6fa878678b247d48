/**
 * SQL for the write batch, the hottest path of the engine: multi-row INSERTs (and the task-run
 * upsert) built as text once per row count and reused. The query builder costs more than the
 * database here (measured: ~50 µs of compilation per statement against ~30 µs for a whole SQLite
 * commit), so this one path is written by hand; every other query goes through Kysely.
 * Placeholders are `?`; `toPostgres` renumbers them `$1..$n`.
 */
import type { Selectable } from "kysely";
import type { TaskRunsTable } from "../schema.ts";
import type { CacheEntry, LogRecord, ResultRecord, StateRecord, TaskDependency, TaskRun } from "../types.ts";

/**
 * Free text as the database can store it: PostgreSQL refuses NUL (U+0000) in text, and user
 * code may log or throw one; it becomes U+FFFD. Names and ids are not rewritten: the API
 * refuses them.
 */
export function storableText<T extends string | null | undefined>(text: T): T {
  return (typeof text === "string" && text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text) as T;
}

export interface Statement {
  sql: string;
  params: unknown[];
}

interface TableSpec {
  table: string;
  columns: readonly string[];
  /** Each column's PostgreSQL type, for the arrays of an `unnest` insert. */
  pgTypes: readonly string[];
  conflict: string;
}

const TASK_RUN_COLUMNS = [
  "id", "flow_run_id", "task_key", "task_name", "state_type", "state_name", "state_message", "state_timestamp",
  "scheduled_at", "run_count", "cache_key", "result_id", "error", "tags", "created_at", "start_time", "end_time",
] as const;
// The name and tags too: a key re-run after the flow's code changed may now be another task.
const TASK_RUN_UPDATED = [
  "task_name", "state_type", "state_name", "state_message", "state_timestamp", "scheduled_at", "run_count", "cache_key",
  "result_id", "error", "tags", "start_time", "end_time",
] as const;

const SPECS = {
  results: {
    table: "results",
    columns: ["id", "serializer", "value", "path", "size", "created_at"],
    pgTypes: ["text", "text", "text", "text", "integer", "bigint"],
    conflict: "on conflict (id) do nothing",
  },
  taskRuns: {
    table: "task_runs",
    columns: TASK_RUN_COLUMNS,
    pgTypes: ["text", "text", "text", "text", "text", "text", "text", "bigint", "bigint", "integer", "text", "text", "text", "text", "bigint", "bigint", "bigint"],
    conflict: `on conflict (id) do update set ${TASK_RUN_UPDATED.map((c) => `${c} = excluded.${c}`).join(", ")}`,
  },
  dependencies: {
    table: "task_dependencies",
    columns: ["task_run_id", "upstream_task_run_id", "flow_run_id", "kind"],
    pgTypes: ["text", "text", "text", "text"],
    conflict: "on conflict (task_run_id, upstream_task_run_id) do nothing",
  },
  states: {
    table: "states",
    columns: ["flow_run_id", "task_run_id", "type", "name", "message", "timestamp", "scheduled_at"],
    pgTypes: ["text", "text", "text", "text", "text", "bigint", "bigint"],
    conflict: "",
  },
  cache: {
    table: "cache_entries",
    columns: ["cache_key", "result_id", "task_run_id", "expires_at", "created_at"],
    pgTypes: ["text", "text", "text", "bigint", "bigint"],
    conflict:
      "on conflict (cache_key) do update set result_id = excluded.result_id, task_run_id = excluded.task_run_id, expires_at = excluded.expires_at, created_at = excluded.created_at",
  },
  logs: {
    table: "logs",
    columns: ["flow_run_id", "task_run_id", "level", "message", "timestamp", "extra"],
    pgTypes: ["text", "text", "integer", "text", "bigint", "text"],
    conflict: "",
  },
} as const satisfies Record<string, TableSpec>;

/** Rows per statement: keeps every statement under SQLite's 32,766 parameters. */
const MAX_PARAMS = 30_000;
const sqlCache = new Map<string, string>();

function insertSql(spec: TableSpec, rows: number): string {
  const key = `${spec.table}:${rows}`;
  let text = sqlCache.get(key);
  if (!text) {
    const tuple = `(${spec.columns.map(() => "?").join(", ")})`;
    text = `insert into ${spec.table} (${spec.columns.join(", ")}) values ${Array(rows).fill(tuple).join(", ")} ${spec.conflict}`.trim();
    if (sqlCache.size > 2000) sqlCache.clear();
    sqlCache.set(key, text);
  }
  return text;
}

/**
 * PostgreSQL: all rows as one array per column, `insert … select * from unnest($1::text[], …)`.
 * The text is the same whatever the row count, so it is parsed and planned once per connection
 * (a named statement), where a multi-row VALUES list is a new statement for each count, and
 * PostgreSQL's parse of thousands of placeholders costs more than the rows' writes.
 */
function unnestInsert(spec: TableSpec, rows: unknown[][]): Statement[] {
  if (rows.length === 0) return [];
  const casts = spec.pgTypes.map((type) => `?::${type}[]`).join(", ");
  return [
    {
      sql: `insert into ${spec.table} (${spec.columns.join(", ")}) select * from unnest(${casts}) ${spec.conflict}`.trim(),
      params: spec.columns.map((_, j) => rows.map((row) => row[j])),
    },
  ];
}

/**
 * From this many rows PostgreSQL gets arrays (a fan-out's batches: +23% mapped tasks/s measured,
 * bench/ab.ts); below it, a sequential flow's few rows stay a VALUES list, its statement named and
 * planned once per connection too, and cheaper than unnest's casts for one row (−9% with arrays).
 */
const UNNEST_FROM_ROWS = 16;

function inserts(spec: TableSpec, rows: unknown[][], dialect: "sqlite" | "postgres" = "sqlite"): Statement[] {
  if (dialect === "postgres" && rows.length >= UNNEST_FROM_ROWS) return unnestInsert(spec, rows);
  const out: Statement[] = [];
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / spec.columns.length));
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement);
    out.push({ sql: insertSql(spec, part.length), params: part.flat() });
  }
  return out;
}

export interface BatchRows {
  results: ResultRecord[];
  taskRuns: TaskRun[];
  dependencies: TaskDependency[];
  states: Omit<StateRecord, "id">[];
  cache: CacheEntry[];
  logs: LogRecord[];
}

/** The statements of a batch, in the order they must run (results before the rows citing them). */
export function batchStatements(batch: BatchRows, dialect: "sqlite" | "postgres" = "sqlite"): Statement[] {
  const flowRunOf = new Map(batch.taskRuns.map((t) => [t.id, t.flowRunId]));
  const insert = (spec: TableSpec, rows: unknown[][]) => inserts(spec, rows, dialect);
  return [
    ...insert(SPECS.results, batch.results.map((r) => [r.id, r.serializer, r.value, r.path, r.size, r.createdAt])),
    ...insert(
      SPECS.taskRuns,
      batch.taskRuns.map((t) => {
        const row = taskRunToRow(t);
        row.state_message = storableText(row.state_message);
        return TASK_RUN_COLUMNS.map((c) => row[c]);
      }),
    ),
    ...insert(
      SPECS.dependencies,
      batch.dependencies.map((d) => [
        d.taskRunId,
        d.upstreamTaskRunId,
        flowRunOf.get(d.taskRunId) ?? flowRunOf.get(d.upstreamTaskRunId) ?? "",
        d.kind,
      ]),
    ),
    ...insert(
      SPECS.states,
      batch.states.map((s) => [s.flowRunId, s.taskRunId, s.type, s.name, storableText(s.message ?? null), s.timestamp, s.scheduledAt ?? null]),
    ),
    ...insert(SPECS.cache, batch.cache.map((c) => [c.cacheKey, c.resultId, c.taskRunId, c.expiresAt, c.createdAt])),
    ...insert(
      SPECS.logs,
      batch.logs.map((l) => [l.flowRunId, l.taskRunId, l.level, storableText(l.message), l.timestamp, l.extra ? JSON.stringify(l.extra) : null]),
    ),
  ];
}

/** Statements appending rows to the state history (flow runs' and task runs'). */
export function historyStatements(states: readonly Omit<StateRecord, "id">[]): Statement[] {
  return inserts(
    SPECS.states,
    states.map((s) => [s.flowRunId, s.taskRunId, s.type, s.name, storableText(s.message ?? null), s.timestamp, s.scheduledAt ?? null]),
  );
}

/** Renumbers `?` placeholders as `$1..$n` (the batch SQL has no `?` inside literals). */
export function toPostgres(text: string, offset = 0): string {
  let n = offset;
  return text.replace(/\?/g, () => `$${++n}`);
}

/**
 * PostgreSQL: the whole batch as one statement of data-modifying CTEs, so a batch costs one
 * round trip and one implicit transaction. Returns null when it is too large for one statement.
 */
export function combinedPostgresStatement(statements: Statement[]): Statement | null {
  const total = statements.reduce((n, s) => n + s.params.length, 0);
  if (statements.length === 0 || total > 60_000) return null;
  if (statements.length === 1) return { sql: toPostgres(statements[0]!.sql), params: statements[0]!.params };
  let offset = 0;
  const parts = statements.map((s, i) => {
    const text = toPostgres(s.sql, offset);
    offset += s.params.length;
    return i === statements.length - 1 ? text : `w${i} as (${text})`;
  });
  const last = parts.pop()!;
  return { sql: `with ${parts.join(", ")} ${last}`, params: statements.flatMap((s) => s.params) };
}

/** A task run's row (the batch upserts task runs with their latest snapshot). */
export function taskRunToRow(run: TaskRun): Selectable<TaskRunsTable> {
  return {
    id: run.id,
    flow_run_id: run.flowRunId,
    task_key: run.taskKey,
    task_name: run.taskName,
    state_type: run.state.type,
    state_name: run.state.name,
    state_message: run.state.message ?? null,
    state_timestamp: run.state.timestamp,
    scheduled_at: run.state.scheduledAt ?? null,
    run_count: run.runCount,
    cache_key: run.cacheKey,
    result_id: run.resultId,
    error: run.error ? JSON.stringify(run.error) : null,
    tags: JSON.stringify(run.tags),
    created_at: run.createdAt,
    start_time: run.startTime,
    end_time: run.endTime,
  };
}
