/**
 * Opens Kysely over SQLite (better-sqlite3, the embedded default) or PostgreSQL (pg) from a URL:
 * `sqlite:///abs/path.db`, `sqlite://relative.db`, `sqlite::memory:`, `postgres://...`.
 */
import fs from "node:fs";
import path from "node:path";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { DatabaseUnreachableError, StoreOpenError } from "../core/errors.ts";
import { redactUrl } from "../core/redact-url.ts";
import type { Database } from "./schema.ts";
import { ConnectionRetry, DEFAULT_DATABASE_RETRY_MS, NO_RETRY, reconnectingDialect, survivePoolErrors, type OutageRetry } from "./pg-reconnect.ts";
import { nameRegisteredStatements } from "./pg-named.ts";

export type Dialect = "sqlite" | "postgres";

export type ParsedDatabaseUrl = { dialect: "sqlite"; file: string } | { dialect: "postgres"; url: string };

export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: "postgres", url };
  if (url === "sqlite::memory:" || url === ":memory:") return { dialect: "sqlite", file: ":memory:" };
  const match = /^sqlite:(?:\/\/)?(.+)$/i.exec(url);
  if (match) return { dialect: "sqlite", file: path.resolve(match[1]!) };
  throw new StoreOpenError(redactUrl(url), 'unsupported database URL; use "sqlite:///path/to/baton.db" or "postgres://user@host:5432/db"');
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  location: string;
  /** The better-sqlite3 handle under Kysely (SQLite only), for the synchronous batch path. */
  sqlite?: import("better-sqlite3").Database;
  /** The pg pool under Kysely (PostgreSQL only), for named prepared statements on the batch path. */
  pgPool?: import("pg").Pool;
  /** How work rides out a database outage: PostgreSQL's reconnecting retry, SQLite's pass-through. */
  retry: OutageRetry;
}

export interface OpenOptions {
  /** How long PostgreSQL work waits out an unreachable or restarting server (ms; BATON_DATABASE_RETRY_MS). */
  retryMs?: number;
}

export async function openKysely(url: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  const parsed = parseDatabaseUrl(url);
  if (parsed.dialect === "sqlite") {
    const { default: SQLite } = await import("better-sqlite3");
    const location = parsed.file;
    let database: InstanceType<typeof SQLite>;
    try {
      if (location !== ":memory:") fs.mkdirSync(path.dirname(location), { recursive: true });
      database = new SQLite(location, { timeout: 15_000 });
      // WAL lets readers and one writer work at once across processes. FULL syncs the WAL at
      // every commit: under NORMAL a power loss may roll back committed transactions, and a
      // task's completion, once committed, must survive any crash (its dependents saw it).
      database.pragma("journal_mode = WAL");
      database.pragma("synchronous = FULL");
      database.pragma("foreign_keys = ON");
    } catch (error) {
      throw new StoreOpenError(location, (error as Error).message, { cause: error });
    }
    return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), dialect: "sqlite", location, sqlite: database, retry: NO_RETRY };
  }
  const pg = await import("pg");
  // int8 (bigint) columns hold epoch milliseconds: well inside Number's exact range.
  pg.default.types.setTypeParser(20, (value: string) => Number(value));
  // allowExitOnIdle: a script that ran its flows may exit without closing the store.
  const pool = new pg.default.Pool({ connectionString: parsed.url, max: 10, allowExitOnIdle: true });
  survivePoolErrors(pool);
  nameRegisteredStatements(pool);
  const location = redactUrl(parsed.url);
  const retry = new ConnectionRetry(location, options.retryMs ?? DEFAULT_DATABASE_RETRY_MS);
  try {
    // A process started while the server restarts (or before it is up) waits for it.
    const client = await retry.run(() => pool.connect());
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = error instanceof DatabaseUnreachableError ? error.detail : (error as Error).message || String(error);
    throw new StoreOpenError(location, reason, { cause: error });
  }
  const dialect = reconnectingDialect(new PostgresDialect({ pool }), retry);
  return { db: new Kysely<Database>({ dialect }), dialect: "postgres", location, pgPool: pool, retry };
}
