/**
 * SQL for the write batch, the hottest path of the engine: multi-row INSERTs (and the task-run
 * upsert) built as text once per row count and reused. The query builder costs more than the
 * database here (measured: ~50 µs of compilation per statement against ~30 µs for a whole SQLite
 * commit), so this one path is written by hand; every other query goes through Kysely.
 * Placeholders are `?`; `toPostgres` renumbers them `$1..$n`.
 */
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

/** What a task run used (0023): in the same upsert as its final state, never a statement of its own. */
const RESOURCE_COLUMNS = ["wall_ms", "cpu_user_ms", "cpu_system_ms", "peak_memory_bytes", "retried_wall_ms", "retried_cpu_ms"] as const;

const TASK_RUN_COLUMNS = [
  "id", "flow_run_id", "task_key", "task_name", "state_type", "state_name", "state_message", "state_timestamp",
  "scheduled_at", "run_count", "cache_key", "result_id", "error", "tags", "created_at", "start_time", "end_time",
  ...RESOURCE_COLUMNS,
] as const;
// The name and tags too: a key re-run after the flow's code changed may now be another task.
const TASK_RUN_UPDATED = [
  "task_name", "state_type", "state_name", "state_message", "state_timestamp", "scheduled_at", "run_count", "cache_key",
  "result_id", "error", "tags", "start_time", "end_time", ...RESOURCE_COLUMNS,
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
    pgTypes: ["text", "text", "text", "text", "text", "text", "text", "bigint", "bigint", "integer", "text", "text", "text", "text", "bigint", "bigint", "bigint", ...RESOURCE_COLUMNS.map(() => "bigint")],
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

/**
 * Rows per statement. Statements come in a few fixed row counts (this many, then powers of two
 * for the rest) so that a handful of prepared statements serve every batch size: a new count
 * is a new statement text, and SQLite's parse of a thousand-row VALUES list costs more than its
 * writes. Small statements also keep each parameter array in V8's young generation (an array
 * past 128 KB is allocated with the long-lived objects, and a fan-out's batches made one per
 * statement, collected only by full garbage collections).
 */
const CHUNK_ROWS = 256;
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
function unnestInsert(spec: TableSpec, values: unknown[], rows: number): Statement {
  const width = spec.columns.length;
  const casts = spec.pgTypes.map((type) => `?::${type}[]`).join(", ");
  const columns: unknown[][] = spec.columns.map(() => new Array<unknown>(rows));
  for (let j = 0; j < width; j++) {
    const column = columns[j]!;
    for (let i = 0; i < rows; i++) column[i] = values[i * width + j];
  }
  return { sql: `insert into ${spec.table} (${spec.columns.join(", ")}) select * from unnest(${casts}) ${spec.conflict}`.trim(), params: columns };
}

/**
 * From this many rows PostgreSQL gets arrays (a fan-out's batches: +23% mapped tasks/s measured,
 * bench/ab.ts); below it, a sequential flow's few rows stay a VALUES list, its statement named and
 * planned once per connection too, and cheaper than unnest's casts for one row (−9% with arrays).
 */
const UNNEST_FROM_ROWS = 16;

/** The largest power of two not above `n` (n ≥ 1). */
function powerOfTwoBelow(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** Inserts of rows given as one flat list of values, row after row (`spec.columns` per row). */
function inserts(spec: TableSpec, values: unknown[], dialect: "sqlite" | "postgres" = "sqlite"): Statement[] {
  const width = spec.columns.length;
  const rows = values.length / width;
  if (rows === 0) return [];
  if (dialect === "postgres") return [rows >= UNNEST_FROM_ROWS ? unnestInsert(spec, values, rows) : { sql: insertSql(spec, rows), params: values }];
  if (rows <= CHUNK_ROWS && (rows & (rows - 1)) === 0) return [{ sql: insertSql(spec, rows), params: values }];
  const out: Statement[] = [];
  for (let at = 0; at < rows; ) {
    const size = Math.min(CHUNK_ROWS, powerOfTwoBelow(rows - at));
    out.push({ sql: insertSql(spec, size), params: values.slice(at * width, (at + size) * width) });
    at += size;
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
  const insert = (spec: TableSpec, values: unknown[]) => inserts(spec, values, dialect);
  // Values are pushed straight into each table's flat list: a fan-out's batch holds thousands
  // of rows, and an array and an object per row were most of the batch's garbage.
  const results: unknown[] = [];
  for (const r of batch.results) results.push(r.id, r.serializer, r.value, r.path, r.size, r.createdAt);
  const taskRuns: unknown[] = [];
  for (const t of batch.taskRuns) pushTaskRun(taskRuns, t);
  const dependencies: unknown[] = [];
  if (batch.dependencies.length > 0) {
    const flowRunOf = new Map(batch.taskRuns.map((t) => [t.id, t.flowRunId]));
    for (const d of batch.dependencies)
      dependencies.push(d.taskRunId, d.upstreamTaskRunId, flowRunOf.get(d.taskRunId) ?? flowRunOf.get(d.upstreamTaskRunId) ?? "", d.kind);
  }
  const cache: unknown[] = [];
  for (const c of batch.cache) cache.push(c.cacheKey, c.resultId, c.taskRunId, c.expiresAt, c.createdAt);
  const logs: unknown[] = [];
  for (const l of batch.logs) logs.push(l.flowRunId, l.taskRunId, l.level, storableText(l.message), l.timestamp, l.extra ? JSON.stringify(l.extra) : null);
  return [
    ...insert(SPECS.results, results),
    ...insert(SPECS.taskRuns, taskRuns),
    ...insert(SPECS.dependencies, dependencies),
    ...insert(SPECS.states, stateValues(batch.states)),
    ...insert(SPECS.cache, cache),
    ...insert(SPECS.logs, logs),
  ];
}

function stateValues(states: readonly Omit<StateRecord, "id">[]): unknown[] {
  const values: unknown[] = [];
  for (const s of states) values.push(s.flowRunId, s.taskRunId, s.type, s.name, storableText(s.message ?? null), s.timestamp, s.scheduledAt ?? null);
  return values;
}

/** A task run's row, in TASK_RUN_COLUMNS order (the batch upserts task runs with their latest snapshot). */
function pushTaskRun(values: unknown[], t: TaskRun): void {
  const s = t.state;
  values.push(
    t.id, t.flowRunId, t.taskKey, t.taskName, s.type, s.name, storableText(s.message ?? null), s.timestamp, s.scheduledAt ?? null,
    t.runCount, t.cacheKey, t.resultId, t.error ? JSON.stringify(t.error) : null, t.tags.length === 0 ? "[]" : JSON.stringify(t.tags),
    t.createdAt, t.startTime, t.endTime,
  );
  const r = t.resources;
  if (r) values.push(r.wallMs, r.cpuUserMs, r.cpuSystemMs, r.peakMemoryBytes, r.retriedWallMs, r.retriedCpuMs);
  else values.push(null, null, null, null, null, null);
}

/** Statements appending rows to the state history (flow runs' and task runs'). */
export function historyStatements(states: readonly Omit<StateRecord, "id">[]): Statement[] {
  return inserts(SPECS.states, stateValues(states));
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
