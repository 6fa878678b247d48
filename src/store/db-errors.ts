/**
 * What a database error means for the caller, for both drivers: a duplicate key or a missing
 * referenced row (the request conflicts with stored data), a value the column cannot hold (bad
 * input that validation let through), or the database being unreachable or busy (worth
 * retrying). Anything else is a bug.
 */

export type DatabaseErrorKind = "duplicate" | "missing-reference" | "invalid-value" | "unavailable";

export interface ClassifiedError {
  kind: DatabaseErrorKind;
  /** The constraint or columns concerned, when the driver says. */
  constraint: string | null;
  /** The driver's own words. */
  detail: string;
}

/** Known unique constraints, by PostgreSQL name and by SQLite's "table.columns" wording. */
const DUPLICATES: { pg: string; sqlite: string; message: string }[] = [
  { pg: "task_runs_flow_run_key", sqlite: "task_runs.flow_run_id, task_runs.task_key", message: "a task run with this task key already exists in the flow run" },
  { pg: "task_runs_pkey", sqlite: "task_runs.id", message: "a task run with this id already exists" },
  { pg: "flow_runs_pkey", sqlite: "flow_runs.id", message: "a flow run with this id already exists" },
  { pg: "artifacts_pkey", sqlite: "artifacts.id", message: "an artifact with this id already exists" },
];

/** A readable sentence for a duplicate-key error (names the record), or null if unknown. */
export function duplicateMessage(error: ClassifiedError): string | null {
  const known = DUPLICATES.find((d) => error.constraint === d.pg || error.constraint === d.sqlite);
  return known?.message ?? null;
}

const PG_UNAVAILABLE = /^(08|53|57P0|40001|40P01|55P03)/;
const NODE_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * SQLSTATEs that mean the server is going away or not yet back: connection exceptions (class
 * 08), admin_shutdown (57P01, which `pg_ctl -m fast|immediate` sends), crash_shutdown (57P02),
 * cannot_connect_now (57P03, starting up or in recovery) and too_many_connections (53300).
 */
const PG_CONNECTION_LOST = /^(08...|57P0[123]|53300)$/;
const NODE_CONNECTION_LOST = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
/** What pg says when a socket dies under a client (it sets no code). */
const PG_DRIVER_CONNECTION_LOST = /^(Connection terminated unexpectedly|Client has encountered a connection error and is not queryable)$/;

/**
 * True when the error means the PostgreSQL server is unreachable or restarting, so the same
 * work may succeed on a new connection: the only errors the store retries. Narrower than the
 * "unavailable" kind, which also holds lock timeouts and deadlocks (and SQLite's busy): those
 * are the caller's to retry, not a reason to reconnect.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code === "string" && (NODE_CONNECTION_LOST.has(e.code) || PG_CONNECTION_LOST.test(e.code))) return true;
  return typeof e.message === "string" && PG_DRIVER_CONNECTION_LOST.test(e.message);
}

export function classifyDatabaseError(error: unknown): ClassifiedError | null {
  if (!error || typeof error !== "object") return null;
  const e = error as { code?: unknown; constraint?: unknown; detail?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";
  // PostgreSQL (pg): five-character SQLSTATE codes.
  if (/^[0-9A-Z]{5}$/.test(code) && "severity" in e) {
    const detail = typeof e.detail === "string" && e.detail ? `${message} (${e.detail})` : message;
    const constraint = typeof e.constraint === "string" ? e.constraint : null;
    if (code === "23505") return { kind: "duplicate", constraint, detail };
    if (code === "23503") return { kind: "missing-reference", constraint, detail };
    if (code.startsWith("22") || code === "23502" || code === "23514" || code === "54000") return { kind: "invalid-value", constraint, detail };
    if (PG_UNAVAILABLE.test(code)) return { kind: "unavailable", constraint, detail };
    return null;
  }
  // SQLite (better-sqlite3): SQLITE_* codes; constraint errors name "table.column, …".
  if (code.startsWith("SQLITE_")) {
    const columns = /constraint failed: (.+)$/.exec(message)?.[1] ?? null;
    if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") return { kind: "duplicate", constraint: columns, detail: message };
    if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return { kind: "missing-reference", constraint: columns, detail: message };
    if (code === "SQLITE_TOOBIG" || code === "SQLITE_MISMATCH" || code === "SQLITE_CONSTRAINT_NOTNULL" || code === "SQLITE_CONSTRAINT_CHECK")
      return { kind: "invalid-value", constraint: columns, detail: message };
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || code === "SQLITE_FULL" || code.startsWith("SQLITE_IOERR"))
      return { kind: "unavailable", constraint: null, detail: message };
    return null;
  }
  // The pg driver losing its connection.
  if (NODE_UNAVAILABLE.has(code) || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message))
    return { kind: "unavailable", constraint: null, detail: message };
  return null;
}
