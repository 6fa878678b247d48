/**
 * Riding out a PostgreSQL restart (or failover): work that fails because the server is
 * unreachable or restarting (see `isConnectionLoss`) is tried again on a new connection, with
 * exponential backoff and jitter, until the outage has lasted the retry window
 * (BATON_DATABASE_RETRY_MS); then it fails with a DatabaseUnreachableError saying for how long.
 *
 * What is retried, and why it is safe:
 *   - opening a connection: nothing was sent yet;
 *   - the first statement on a connection taken outside a transaction (every single-statement
 *     read or write through Kysely): the store's single statements are reads or idempotent
 *     writes (upserts, an artifact's included; heartbeats that never go backwards; deletes), so
 *     running one again after an unknown outcome changes nothing. Later statements on
 *     a reserved connection are not retried here: they may rely on its session;
 *   - a whole transaction, by the store (`KyselyStore.transaction`), when it failed before its
 *     COMMIT was sent; a lost COMMIT is an unknown outcome and is not run again;
 *   - a write batch, by the store, under its batch id: applied once however often it is sent.
 *
 * The outage is one clock for the whole store: every piece of work gives up once the outage
 * began more than the window ago, so a process whose database stays away ends after about one
 * window instead of one window per write it still had to make.
 *
 * Also here: the listeners without which a dropped connection crashes the process, and the
 * LISTEN connection that listens again after a drop.
 */
import pRetry from "p-retry";
import type { DatabaseConnection, Dialect, Driver, Kysely, QueryCompiler, TransactionSettings, CompiledQuery, QueryResult } from "kysely";
import type { Notification, Pool, PoolClient } from "pg";
import { BatonError, DatabaseUnreachableError } from "../core/errors.ts";
import { isConnectionLoss } from "./db-errors.ts";

/** BATON_DATABASE_RETRY_MS's default: a restart or a failover takes seconds, rarely a minute. */
export const DEFAULT_DATABASE_RETRY_MS = 60_000;

/** Backoff between attempts: 100 ms doubling, times a random 1–2 (jitter), at most 3 s. */
const BACKOFF = { minTimeout: 100, factor: 2, maxTimeout: 3_000, randomize: true } as const;

/** Runs work through an outage; the store's one retry policy (a pass-through on SQLite). */
export interface OutageRetry {
  /** Runs `op` (given its attempt number, from 1) until it succeeds, or fails otherwise than by a lost connection, or the window ends. */
  run<T>(op: (attempt: number) => Promise<T>): Promise<T>;
  /**
   * Runs `op` until it succeeds or fails otherwise than by a lost connection, however long the
   * outage lasts, until `signal` aborts (a LISTEN connection lives as long as its subscriber).
   */
  forever<T>(op: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** Stops waiting: work still retrying fails now (the store is closing). */
  close(): void;
  /**
   * When the database last answered again after an outage this store saw (epoch ms; 0: none).
   * Heartbeats sent during the outage never arrived: missed ones count from here.
   */
  readonly reconnectedAt: number;
}

/** SQLite has no connection to lose: work runs once. */
export const NO_RETRY: OutageRetry = { run: (op) => op(1), forever: (op) => op(), close: () => undefined, reconnectedAt: 0 };

export class ConnectionRetry implements OutageRetry {
  /** When the current outage began: the first lost connection since the last success. */
  private outageSince: number | null = null;
  private backAt = 0;
  private readonly closing = new AbortController();

  constructor(
    /** The database, as messages name it (password redacted). */
    readonly location: string,
    readonly windowMs: number,
  ) {}

  async run<T>(op: (attempt: number) => Promise<T>): Promise<T> {
    // The first attempt goes out directly: the retry machinery only runs once something failed,
    // off the hot path of a flow's writes.
    try {
      const value = await op(1);
      this.answered();
      return value;
    } catch (error) {
      if (!this.retryable(error)) throw error;
      if (this.outageMs() >= this.windowMs) throw this.unreachable(error, Date.now());
    }
    const failedAt = Date.now();
    try {
      const value = await pRetry((n) => op(n + 1), {
        ...BACKOFF,
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: this.windowMs - this.outageMs(),
        shouldRetry: ({ error }) => this.retryable(error) && this.outageMs() < this.windowMs,
        signal: this.closing.signal,
      });
      this.answered();
      return value;
    } catch (error) {
      throw isConnectionLoss(error) ? this.unreachable(error, failedAt) : error;
    }
  }

  async forever<T>(op: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return pRetry(op, { ...BACKOFF, retries: Number.POSITIVE_INFINITY, shouldRetry: ({ error }) => isConnectionLoss(error), signal: AbortSignal.any([signal, this.closing.signal]) });
  }

  get reconnectedAt(): number {
    return this.backAt;
  }

  close(): void {
    this.closing.abort(new BatonError(`the store of ${this.location} was closed while waiting for the database`));
  }

  /** The database answered: any outage is over. */
  private answered(): void {
    if (this.outageSince === null) return;
    this.outageSince = null;
    this.backAt = Date.now();
  }

  private retryable(error: unknown): boolean {
    if (!isConnectionLoss(error) || this.closing.signal.aborted) return false;
    this.outageSince ??= Date.now();
    return true;
  }

  private outageMs(): number {
    return this.outageSince === null ? 0 : Date.now() - this.outageSince;
  }

  /** The error for work that gave up; the outage is timed from its start, or this work's first failure if later. */
  private unreachable(cause: unknown, failedAt: number): DatabaseUnreachableError {
    return new DatabaseUnreachableError(this.location, Math.max(this.outageMs(), Date.now() - failedAt), { cause });
  }
}

/**
 * A dropped connection must not crash the process. pg emits 'error' on a client whose socket
 * dies, and an 'error' event with no listener is thrown: the pool listens on its idle clients
 * (and re-emits on itself), but a client checked out by Kysely (a transaction in progress, a
 * query in flight) has no listener. The query in flight rejects anyway, and the pool discards
 * the broken client when it is released.
 */
export function survivePoolErrors(pool: Pool): void {
  pool.on("error", () => undefined);
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
  });
}

/**
 * Kysely's dialect with the reconnecting driver: connections are opened through `retry`, and
 * the first statement on a connection taken outside a transaction is retried on a new one.
 */
export function reconnectingDialect(inner: Dialect, retry: ConnectionRetry): Dialect {
  return {
    createDriver: () => new ReconnectingDriver(inner.createDriver(), retry),
    createQueryCompiler: (): QueryCompiler => inner.createQueryCompiler(),
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db: Kysely<any>) => inner.createIntrospector(db),
  };
}

class ReconnectingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly retry: ConnectionRetry,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ReconnectingConnection(await this.retry.run(() => this.inner.acquireConnection()), this.inner, this.retry);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as ReconnectingConnection;
    c.pinned = true;
    return this.inner.beginTransaction(c.pinnedConnection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction((connection as ReconnectingConnection).pinnedConnection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction((connection as ReconnectingConnection).pinnedConnection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await this.inner.savepoint!((connection as ReconnectingConnection).pinnedConnection, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await this.inner.rollbackToSavepoint!((connection as ReconnectingConnection).pinnedConnection, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await this.inner.releaseSavepoint!((connection as ReconnectingConnection).pinnedConnection, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return (connection as ReconnectingConnection).release();
  }

  destroy(): Promise<void> {
    this.retry.close();
    return this.inner.destroy();
  }
}

/**
 * One acquisition of a pooled connection. Its first statement, outside a transaction, is
 * retried on a new connection when this one turns out dead (the server restarted while it sat
 * idle in the pool). After that the connection is pinned: a later statement may depend on the
 * session (a transaction, a lock), which a new connection would not have.
 */
class ReconnectingConnection implements DatabaseConnection {
  pinned = false;

  constructor(
    /** The pooled connection; null between releasing a dead one and getting its replacement. */
    public current: DatabaseConnection | null,
    private readonly driver: Driver,
    private readonly retry: ConnectionRetry,
  ) {}

  /** The connection a transaction runs on (it is pinned, so it never changes under one). */
  get pinnedConnection(): DatabaseConnection {
    if (!this.current) throw new BatonError("the database connection was lost before the transaction began");
    return this.current;
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.pinned) return this.pinnedConnection.executeQuery<R>(query);
    this.pinned = true;
    return this.retry.run(async (attempt) => {
      if (attempt > 1 || !this.current) {
        // The inner driver, not ours: this loop is the retry. pg discards a broken client when
        // it is released.
        const dead = this.current;
        this.current = null;
        if (dead) await this.driver.releaseConnection(dead);
        this.current = await this.driver.acquireConnection();
      }
      return this.current.executeQuery<R>(query);
    });
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    this.pinned = true;
    return this.pinnedConnection.streamQuery<R>(query, chunkSize);
  }

  /** Gives the connection back to the pool (once). */
  async release(): Promise<void> {
    const last = this.current;
    this.current = null;
    if (last) await this.driver.releaseConnection(last);
  }
}

/**
 * LISTENs on `channel` on a connection of its own, calling `onPayload` for each notification,
 * and listens again on a new connection when that one drops (notifications sent meanwhile are
 * lost: subscribers treat them as hints and poll too). The first LISTEN waits out an outage
 * for the retry window; later ones for as long as the subscription lasts.
 */
export async function listenWithReconnect(pool: Pool, channel: string, onPayload: (payload: string) => void, retry: OutageRetry): Promise<{ close(): Promise<void> }> {
  const stop = new AbortController();
  /** The listening client and how to give it back; null while (re)connecting or after close. */
  let current: { client: PoolClient; giveBack(error?: Error): void } | null = null;
  let reconnecting: Promise<unknown> | null = null;

  const connect = async (): Promise<void> => {
    const client = await pool.connect();
    let held = true;
    const onNotification = (message: Notification) => {
      if (message.payload) onPayload(message.payload);
    };
    // Once, and with our listeners off: a client back in the pool is someone else's, and a
    // stale 'error' listener would release their checkout.
    const giveBack = (error?: Error) => {
      if (!held) return;
      held = false;
      client.off("notification", onNotification);
      client.off("error", onLost);
      client.release(error); // with an error: the pool discards the client
    };
    const onLost = (error: Error) => {
      const wasListening = current?.client === client;
      if (wasListening) current = null;
      giveBack(error);
      // Given up only on close, or on an error a reconnect cannot fix: subscribers still poll.
      if (wasListening && !stop.signal.aborted) reconnecting = retry.forever(connect, stop.signal).catch(() => undefined);
    };
    client.on("notification", onNotification);
    client.on("error", onLost);
    try {
      await client.query(`listen ${channel}`);
    } catch (error) {
      giveBack(error as Error);
      throw error;
    }
    if (stop.signal.aborted) return giveBack();
    current = { client, giveBack };
  };

  await retry.run(connect);
  return {
    async close() {
      stop.abort();
      await reconnecting;
      const last = current;
      current = null;
      if (!last) return;
      await last.client.query(`unlisten ${channel}`).catch(() => undefined);
      last.giveBack();
    },
  };
}
