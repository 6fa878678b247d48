/**
 * The lock that elects the one server replica running the singleton services (scheduler, crash
 * sweep, retention, automations): whoever holds it leads, and it is released by the database or
 * the operating system when its holder dies, so no lease has to expire.
 *
 *   - PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its
 *     own, named `baton-leader:<holder>` (application_name) so that any replica can say who holds
 *     it. A killed holder's connection closes and PostgreSQL releases the lock at once.
 *   - SQLite file: an exclusive transaction held open on a side database `<file>-leader` (an OS
 *     file lock, released when the process dies); the holder's name in `<file>-leader.json`.
 *   - SQLite in memory: one process; the first elector of a store leads.
 */
import fs from "node:fs";
import type { Pool } from "pg";

export interface LeaderLock {
  /** Tries to take the lock (never waits); true once this lock holds it. A failed connection throws. */
  tryAcquire(): Promise<boolean>;
  /** Whether the lock is still held: its connection answers (throws or false when lost). */
  verify(): Promise<boolean>;
  /** Who holds the lock now, by holder name; null when nobody does (or it cannot be read). */
  holder(): Promise<string | null>;
  /** Calls `listener` once when the lock's connection drops while held. */
  onLost(listener: () => void): void;
  /** Releases the lock (if held) and its connection; tryAcquire may connect again. */
  release(): Promise<void>;
}

/** The advisory lock's two int4 keys: "BTN\0" and 1 (the leader); per database, like every advisory lock. */
const LOCK_KEYS = [0x42544e00, 1] as const;
const APP_PREFIX = "baton-leader:";
/** A lock connection that takes longer than this to answer is treated as lost. */
const ANSWER_TIMEOUT_MS = 3000;

export class PostgresLeaderLock implements LeaderLock {
  private client: import("pg").Client | null = null;
  private held = false;
  private lostListener: (() => void) | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly name: string,
  ) {}

  private async connect(): Promise<import("pg").Client> {
    if (this.client) return this.client;
    const { default: pg } = await import("pg");
    // application_name is at most 63 bytes: the holder's name is cut to fit.
    const client = new pg.Client({
      ...(this.pool.options as object),
      application_name: (APP_PREFIX + this.name).slice(0, 63),
      keepAlive: true,
      connectionTimeoutMillis: ANSWER_TIMEOUT_MS,
      query_timeout: ANSWER_TIMEOUT_MS,
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = null;
      const wasHeld = this.held;
      this.held = false;
      void client.end().catch(() => undefined);
      if (wasHeld) this.lostListener?.();
    };
    client.on("error", lost);
    client.on("end", lost);
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      this.client = null;
      void client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    const client = await this.connect();
    const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [...LOCK_KEYS]);
    this.held = rows[0]?.ok === true && this.client === client;
    return this.held;
  }

  async verify(): Promise<boolean> {
    const client = this.client;
    if (!this.held || !client) return false;
    await client.query("select 1");
    return this.held && this.client === client;
  }

  async holder(): Promise<string | null> {
    const { rows } = await this.pool.query<{ name: string }>(
      `select a.application_name as name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.classid = $1 and l.objid = $2 and l.objsubid = 2
          and l.database = (select oid from pg_database where datname = current_database())`,
      [...LOCK_KEYS],
    );
    const name = rows[0]?.name;
    return name?.startsWith(APP_PREFIX) ? name.slice(APP_PREFIX.length) : null;
  }

  onLost(listener: () => void): void {
    this.lostListener = listener;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held = false;
    // Closing the session releases its advisory locks.
    if (client) await client.end().catch(() => undefined);
  }
}

export class SqliteFileLeaderLock implements LeaderLock {
  private db: import("better-sqlite3").Database | null = null;

  constructor(
    private readonly file: string,
    private readonly name: string,
  ) {}

  private get nameFile(): string {
    return `${this.file}-leader.json`;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.db?.inTransaction) return true;
    const { default: SQLite } = await import("better-sqlite3");
    this.db ??= new SQLite(`${this.file}-leader`, { timeout: 0 });
    try {
      // Held until the process ends or release(): SQLite's exclusive lock on the side file.
      this.db.exec("begin exclusive");
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_BUSY") return false;
      throw error;
    }
    fs.writeFileSync(this.nameFile, JSON.stringify({ holder: this.name, since: Date.now() }));
    return true;
  }

  async verify(): Promise<boolean> {
    return this.db?.inTransaction === true;
  }

  async holder(): Promise<string | null> {
    try {
      return (JSON.parse(fs.readFileSync(this.nameFile, "utf8")) as { holder?: string }).holder ?? null;
    } catch {
      return null;
    }
  }

  onLost(): void {
    // A file lock is not lost while its process lives.
  }

  async release(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (!db) return;
    if (db.inTransaction) db.exec("rollback");
    db.close();
  }
}

/** In-memory SQLite lives in one process: the first lock of a store leads. */
const memoryHolders = new WeakMap<object, string>();

export class MemoryLeaderLock implements LeaderLock {
  constructor(
    private readonly store: object,
    private readonly name: string,
  ) {}

  async tryAcquire(): Promise<boolean> {
    const current = memoryHolders.get(this.store);
    if (current === undefined) memoryHolders.set(this.store, this.name);
    return memoryHolders.get(this.store) === this.name;
  }

  async verify(): Promise<boolean> {
    return memoryHolders.get(this.store) === this.name;
  }

  async holder(): Promise<string | null> {
    return memoryHolders.get(this.store) ?? null;
  }

  onLost(): void {
    // Nothing to lose in one process.
  }

  async release(): Promise<void> {
    if (memoryHolders.get(this.store) === this.name) memoryHolders.delete(this.store);
  }
}
