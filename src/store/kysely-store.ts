/**
 * The Store over Kysely, for SQLite and PostgreSQL alike. Dialect differences are confined to
 * `transaction()` (SQLite takes the write lock up front with BEGIN IMMEDIATE, so two processes
 * never deadlock upgrading a read lock; PostgreSQL locks the row it changes with FOR UPDATE).
 * Riding out a PostgreSQL restart is pg-reconnect.ts's: its driver retries connections and
 * single statements, and `retry` (a pass-through on SQLite) runs transactions and write
 * batches again where that is safe.
 */
import type { AssetMaterialization, AssetReadRequest, AssetVersion, MaterializeOutcome } from "../core/assets.ts";
import type { RunValues } from "../core/experiments.ts";
import { deleteRunValues, writeRunValues } from "./run-values.ts";
import { forgetAssetRuns, recordAssetReads, writeMaterialization } from "./asset-writes.ts";
import { newId } from "../core/ids.ts";
import { CompiledQuery, Migrator, sql, type Kysely, type Transaction } from "kysely";
import type BetterSqlite3 from "better-sqlite3";
import type { Pool } from "pg";
import { createHash } from "node:crypto";
import { batchStatements, combinedPostgresStatement, toPostgres, type BatchRows, type Statement } from "./transitions/batch-sql.ts";
import { CRASHABLE_TYPES } from "../core/transitions.ts";
import { makeState, type State, type StateType } from "../core/states.ts";
import { CommitOutcomeUnknownError, InvalidCursorError, RunNotFoundError, StoreOpenError } from "../core/errors.ts";
import type { Database } from "./schema.ts";
import type { Dialect } from "./dialect.ts";
import { MIGRATIONS } from "./migrations/index.ts";
import { eventsAfter, tailEvents, tailStart } from "./event-tail.ts";
import { isConnectionLoss } from "./db-errors.ts";
import { listenWithReconnect, NO_RETRY, type OutageRetry } from "./pg-reconnect.ts";
import { MemoryLeaderLock, PostgresLeaderLock, SqliteFileLeaderLock, type LeaderLock } from "./leader-lock.ts";
import { ARTIFACT_COLUMNS, artifactFromRow, flowFromRow, flowRunFromRow, logFromRow, stateFromRow, taskRunFromRow } from "./rows.ts";
import { updatedArtifactData } from "../core/artifacts.ts";
import * as flowRunInputs from "./flow-run-inputs.ts";
import type { FlowRunInput, InputRequest } from "../core/flow-run-inputs.ts";
import { appendEvents, eventStatements } from "./transitions/event-log.ts";
import { createFlowRuns, transitionFlowRuns } from "./transitions/flow-runs.ts";
import { transitionTaskRuns, type FlowRunOfTask } from "./transitions/task-runs.ts";
import { batchEvents, flowRunsNeedingFacts } from "./transitions/batch-events.ts";
import type { FlowRunMove, StoreObserver } from "./observer.ts";
import type { TransitionHost } from "./transitions/host.ts";
import { deleteEventsBefore, listEvents } from "./event-queries.ts";
import { eventTailStart, tailEventLog } from "./event-log-tail.ts";
import { workerLostEvent, type EventRecord, type NewEvent } from "../core/event-records.ts";
import type {
  CacheEntry,
  EventLogMaintenance,
  EventQuery,
  EventTailBatch,
  EventTailPosition,
  FlowRecord,
  FlowRun,
  FlowRunFilter,
  LogRecord,
  NewFlowRun,
  Artifact,
  ArtifactUpdate,
  Page,
  TailBatch,
  TailPosition,
  ResultRecord,
  SetStateOptions,
  SetStateResult,
  StateRecord,
  Store,
  TaskDependency,
  TaskRun,
  WriteOp,
} from "./types.ts";

type Tx = Kysely<Database> | Transaction<Database>;

/** The PostgreSQL channel on which due runs are announced to workers (payload: pool name). */
export const RUNS_CHANNEL = "baton_runs";

/** Heartbeat interval assumed for runs that did not record theirs (the engine's default). */
const DEFAULT_HEARTBEAT_MS = 30_000;

/** Heartbeat interval assumed for workers that did not register theirs (the worker's default). */
const DEFAULT_WORKER_HEARTBEAT_MS = 10_000;

/** A run the crash detector looks at, with its worker's last beat (null: no registered worker). */
interface CrashCandidate {
  id: string;
  state_type: string;
  heartbeat_at: number | null;
  state_timestamp: number;
  heartbeat_ms: number | null;
  worker_beat: number | null;
  worker_ms: number | null;
  worker_id: string | null;
  worker_name: string | null;
  worker_pool: string | null;
}

function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, "base64url").toString();
  // Only what encodeCursor makes: integer milliseconds (bigint columns refuse 1.5) and an id
  // of printable characters (PostgreSQL refuses NUL in text).
  const match = /^(\d{1,16}):([^\u0000-\u001f]{1,64})$/.exec(text);
  if (!match || !Number.isSafeInteger(Number(match[1]))) throw new InvalidCursorError(cursor);
  return { createdAt: Number(match[1]), id: match[2]! };
}

/** `text` matched literally by LIKE … ESCAPE '\': its wildcards and the escape character escaped. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** How long applied batch ids are kept, and how often a process deletes older ones. */
const APPLIED_BATCHES_KEEP_MS = 24 * 3600_000;
const APPLIED_BATCHES_PRUNE_EVERY_MS = 10 * 60_000;

/** Rows per multi-row statement: well under SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 400;
/** Flows a name-prefix filter resolves to a list of ids, at most (more: joined, see pageFlowRuns). */
const PREFIX_FLOW_IDS = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class KyselyStore implements Store, TransitionHost, EventLogMaintenance {
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();
  /** A statement by its text, prepared once (SQLite). */
  private readonly prepareSqlite: ((text: string) => BetterSqlite3.Statement) | null;
  /** Runs statements in one BEGIN IMMEDIATE transaction; with `claim`, only if it inserts a row. */
  private readonly runSqliteBatch: ((statements: Statement[], claim?: Statement) => boolean) | null;
  /** True while a transaction of `transaction()` holds SQLite's one connection across awaits. */
  private readonly sqliteInTransaction: () => boolean;
  private readonly pgPool: Pool | null;
  /** The better-sqlite3 handle under Kysely (SQLite only). */
  private readonly sqlite: BetterSqlite3.Database | null;
  /** Rides out PostgreSQL restarts (see pg-reconnect.ts); a pass-through on SQLite. */
  private readonly retry: OutageRetry;
  /** When this process next deletes old batch ids (see pruneAppliedBatches). */
  private nextPruneAt = 0;
  private readonly flowIds = new Map<string, string>();
  /** Flow runs' unchanging facts, for the events of write batches. */
  private readonly factsCache = new Map<string, FlowRunOfTask>();
  private readonly dueListeners = new Set<(pool: string) => void>();
  /** Pools that transactions in progress made due, announced after their commit. */
  private readonly dueInTx = new WeakMap<object, Set<string>>();
  /** Flow-run moves of transactions in progress, told to the observer after their commit. */
  private readonly movesInTx = new WeakMap<object, (() => readonly FlowRunMove[])[]>();
  /** Hears of this process's commits and moves (the server's metrics); null: nobody, at no cost. */
  observer: StoreObserver | null = null;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    readonly location: string,
    drivers: { sqlite?: BetterSqlite3.Database; pgPool?: Pool; retry?: OutageRetry } = {},
  ) {
    const sqlite = drivers.sqlite;
    this.sqlite = sqlite ?? null;
    this.pgPool = drivers.pgPool ?? null;
    this.retry = drivers.retry ?? NO_RETRY;
    const prepare = (text: string) => {
      let stmt = this.prepared.get(text);
      if (!stmt) {
        if (this.prepared.size > 500) this.prepared.clear();
        stmt = sqlite!.prepare(text);
        this.prepared.set(text, stmt);
      }
      return stmt;
    };
    this.prepareSqlite = sqlite ? prepare : null;
    if (sqlite) {
      // Made once: better-sqlite3 builds the wrapper (and its BEGIN/COMMIT) on every transaction() call.
      const apply = sqlite.transaction((list: Statement[], claim?: Statement) => {
        if (claim && prepare(claim.sql).run(claim.params).changes === 0) return false;
        for (const s of list) prepare(s.sql).run(s.params);
        return true;
      });
      this.runSqliteBatch = (statements, claim) => apply.immediate(statements, claim);
      this.sqliteInTransaction = () => sqlite.inTransaction;
    } else {
      this.runSqliteBatch = null;
      this.sqliteInTransaction = () => false;
    }
  }

  async migrate(): Promise<void> {
    const dialect = this.dialect;
    const migrator = new Migrator({
      db: this.db,
      // Branches developed side by side take numbers in parallel: a database that ran 0024
      // before 0023 existed must still take 0023 later (each migration stands on its own).
      allowUnorderedMigrations: true,
      provider: {
        async getMigrations() {
          return Object.fromEntries(MIGRATIONS.map((m) => [m.name, { up: (db: Kysely<any>) => m.up(db, dialect) }]));
        },
      },
    });
    // SQLite: Kysely takes no lock there, and two processes opening a new database at once (two
    // `baton run`s) would both run the migrations. BEGIN IMMEDIATE on the one connection makes
    // the second wait (busy timeout) until the first committed, then find nothing to do.
    if (this.sqlite) {
      const sqlite = this.sqlite;
      sqlite.exec("begin immediate");
      let outcome: Awaited<ReturnType<Migrator["migrateToLatest"]>>;
      try {
        outcome = await migrator.migrateToLatest();
      } catch (error) {
        outcome = { error };
      }
      sqlite.exec(outcome.error ? "rollback" : "commit");
      if (outcome.error) throw new StoreOpenError(this.location, `migration failed: ${(outcome.error as Error).message}`, { cause: outcome.error });
      return;
    }
    // On PostgreSQL the migrations run in one transaction under a transaction-scoped lock: one
    // cut short by a restart left nothing behind and is run again.
    const { error } = await this.retry.run(async () => {
      const outcome = await migrator.migrateToLatest();
      if (isConnectionLoss(outcome.error)) throw outcome.error;
      return outcome;
    });
    if (error) throw new StoreOpenError(this.location, `migration failed: ${(error as Error).message}`, { cause: error });
  }

  async close(): Promise<void> {
    this.retry.close();
    await this.db.destroy();
  }

  /**
   * Runs `fn` in one write transaction; then tells this process's listeners of runs it made due.
   * On PostgreSQL, a transaction cut short by a lost connection before its COMMIT was sent is run
   * again whole (`fn` must have no effect outside the transaction); one whose COMMIT was lost
   * fails with CommitOutcomeUnknownError, unless `rerunnable` says `fn` finds its own earlier
   * commit and does nothing twice.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, options: { rerunnable?: boolean } = {}): Promise<T> {
    const due = new Set<string>();
    const observer = this.observer;
    const started = observer ? performance.now() : 0;
    const moves: (() => readonly FlowRunMove[])[] = [];
    let out: T;
    if (this.dialect === "postgres") {
      out = await this.retry.run(async () => {
        due.clear();
        moves.length = 0;
        let committing = false;
        try {
          return await this.db.transaction().execute(async (tx) => {
            this.dueInTx.set(tx, due);
            if (observer) this.movesInTx.set(tx, moves);
            const result = await fn(tx);
            committing = true;
            return result;
          });
        } catch (error) {
          if (committing && !options.rerunnable && isConnectionLoss(error)) throw new CommitOutcomeUnknownError(this.location, { cause: error });
          throw error;
        }
      });
    } else {
      out = await this.db.connection().execute(async (conn) => {
        this.dueInTx.set(conn, due);
        if (observer) this.movesInTx.set(conn, moves);
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw error;
        }
      });
    }
    for (const pool of due) this.announceRunsDue(pool);
    if (observer) {
      observer.committed("transaction", (performance.now() - started) / 1000);
      for (const list of moves) observer.flowRunsMoved(list());
    }
    return out;
  }

  async upsertFlow(flow: { name: string; description?: string | null; tags?: string[] }): Promise<FlowRecord> {
    const now = Date.now();
    await this.db
      .insertInto("flows")
      .values({
        id: newId(),
        name: flow.name,
        description: flow.description ?? null,
        tags: JSON.stringify(flow.tags ?? []),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({ description: flow.description ?? null, tags: JSON.stringify(flow.tags ?? []), updated_at: now }),
      )
      .execute();
    const row = await this.db.selectFrom("flows").selectAll().where("name", "=", flow.name).executeTakeFirstOrThrow();
    return flowFromRow(row);
  }

  /** The id of the flow named `name`, created if new (cached: flows are looked up per run). */
  async upsertFlowId(name: string): Promise<string> {
    return this.flowIdFor(name);
  }

  private async flowIdFor(name: string, tx: Tx = this.db): Promise<string> {
    const cached = this.flowIds.get(name);
    if (cached) return cached;
    const now = Date.now();
    await tx
      .insertInto("flows")
      .values({ id: newId(), name, description: null, tags: "[]", created_at: now, updated_at: now })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const row = await tx.selectFrom("flows").select("id").where("name", "=", name).executeTakeFirstOrThrow();
    // Inside a transaction the id is remembered by the caller once it commits.
    if (tx === this.db) this.flowIds.set(name, row.id);
    return row.id;
  }

  async listFlows(): Promise<FlowRecord[]> {
    const rows = await this.db.selectFrom("flows").selectAll().orderBy("name").execute();
    return rows.map(flowFromRow);
  }

  private flowRunQuery(db: Tx = this.db) {
    return db
      .selectFrom("flow_runs")
      .innerJoin("flows", "flows.id", "flow_runs.flow_id")
      .selectAll("flow_runs")
      .select("flows.name as flow_name");
  }

  async createFlowRun(run: NewFlowRun): Promise<FlowRun> {
    // One transaction: the flow, the run, its first state and its event, or nothing (a
    // duplicate id fails on the primary key and leaves no new flow behind).
    const created = await this.transaction(async (tx) => {
      const flowId = await this.flowIdFor(run.flowName, tx);
      const deploymentName = run.deploymentId
        ? ((await tx.selectFrom("deployments").select("name").where("id", "=", run.deploymentId).executeTakeFirst())?.name ?? null)
        : null;
      return (await createFlowRuns(tx, this, [{ run, flowId, deploymentName }]))[0]!;
    });
    this.flowIds.set(run.flowName, created.flowId);
    return created;
  }

  async existingFlowRunIds(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom("flow_runs").select("id").where("id", "in", [...ids]).execute();
    return rows.map((r) => r.id);
  }

  async getFlowRun(id: string): Promise<FlowRun | undefined> {
    const row = await this.flowRunQuery().where("flow_runs.id", "=", id).executeTakeFirst();
    return row ? flowRunFromRow(row) : undefined;
  }

  async listFlowRuns(filter: FlowRunFilter = {}): Promise<FlowRun[]> {
    return (await this.pageFlowRuns(filter)).items;
  }

  async pageFlowRuns(filter: FlowRunFilter = {}): Promise<Page<FlowRun>> {
    const limit = filter.limit ?? 200;
    let query = this.flowRunQuery();
    if (filter.flowName) query = query.where("flows.name", "=", filter.flowName);
    if (filter.flowNamePrefix) {
      // lower() on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does not.
      const prefix = sql<boolean>`lower(flows.name) like lower(${`${escapeLike(filter.flowNamePrefix)}%`}) escape '\\'`;
      // PostgreSQL: the matching flows' ids as a list, looked up first: it then walks the runs' own
      // indexes (a week of Failed runs by `flow_runs_state_created`) instead of estimating one
      // flow and ANDing each flow's bitmap with one of every run in the state (80 → 16 ms on a
      // 300,000-run store, growing with the store). Past a few hundred flows, the join again.
      // SQLite keeps the join: with the ids as a list it reads each flow's runs by
      // `flow_runs_flow_created` and sorts them all (151 ms on 300,000 runs), where the join
      // walks `flow_runs_created` newest first and stops at the page.
      const flows = this.dialect === "postgres" ? await this.db.selectFrom("flows").select("id").where(prefix).limit(PREFIX_FLOW_IDS + 1).execute() : null;
      if (flows?.length === 0) return { items: [], nextCursor: null };
      query = flows && flows.length <= PREFIX_FLOW_IDS ? query.where("flow_runs.flow_id", "in", flows.map((f) => f.id)) : query.where(prefix);
    }
    // Ids are lower-case UUIDs; LIKE's wildcards in a prefix match themselves only.
    if (filter.idPrefix) query = query.where(sql<boolean>`flow_runs.id like ${`${escapeLike(filter.idPrefix.toLowerCase())}%`} escape '\\'`);
    if (filter.name) query = query.where("flow_runs.name", "=", filter.name);
    if (filter.stateTypes?.length) query = query.where("flow_runs.state_type", "in", filter.stateTypes);
    if (filter.stateNames?.length) query = query.where("flow_runs.state_name", "in", filter.stateNames);
    if (filter.parentFlowRunId) query = query.where("flow_runs.parent_flow_run_id", "=", filter.parentFlowRunId);
    if (filter.deploymentId) query = query.where("flow_runs.deployment_id", "=", filter.deploymentId);
    if (filter.workerId) query = query.where("flow_runs.worker_id", "=", filter.workerId);
    if (filter.createdAfter != null) query = query.where("flow_runs.created_at", ">=", filter.createdAfter);
    if (filter.createdBefore != null) query = query.where("flow_runs.created_at", "<", filter.createdBefore);
    // Tags are a JSON array of strings: match the quoted tag, with LIKE's wildcards escaped.
    for (const tag of filter.tags ?? []) query = query.where(sql<boolean>`flow_runs.tags like ${`%${escapeLike(JSON.stringify(tag))}%`} escape '\\'`);
    if (filter.cursor) {
      const { createdAt, id } = decodeCursor(filter.cursor);
      query = query.where((eb) =>
        eb.or([eb("flow_runs.created_at", "<", createdAt), eb.and([eb("flow_runs.created_at", "=", createdAt), eb("flow_runs.id", "<", id)])]),
      );
    }
    const rows = await query
      .orderBy("flow_runs.created_at", "desc")
      .orderBy("flow_runs.id", "desc")
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map(flowRunFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  async deleteFlowRun(id: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      const found = await tx.selectFrom("flow_runs").select("id").where("id", "=", id).executeTakeFirst();
      if (!found) return false;
      await tx.deleteFrom("states").where("flow_run_id", "=", id).execute();
      await tx.deleteFrom("logs").where("flow_run_id", "=", id).execute();
      await tx.deleteFrom("artifacts").where("flow_run_id", "=", id).execute();
      await tx.deleteFrom("task_dependencies").where("flow_run_id", "=", id).execute();
      await tx.deleteFrom("flow_run_inputs").where("flow_run_id", "=", id).execute();
      await deleteRunValues(tx, [id]);
      await forgetAssetRuns(tx, [id]);
      // Child flow runs stay (they are runs of their own) but no longer point at a missing parent.
      await tx
        .updateTable("flow_runs")
        .set({ parent_flow_run_id: null, parent_task_run_id: null })
        .where((eb) => eb.or([eb("parent_flow_run_id", "=", id), eb("parent_task_run_id", "in", eb.selectFrom("task_runs").select("id").where("flow_run_id", "=", id))]))
        .execute();
      await tx.deleteFrom("task_runs").where("flow_run_id", "=", id).execute();
      await tx.deleteFrom("flow_runs").where("id", "=", id).execute();
      return true;
    });
  }

  async getFlow(idOrName: string): Promise<FlowRecord | undefined> {
    const row = await this.db
      .selectFrom("flows")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
      .executeTakeFirst();
    return row ? flowFromRow(row) : undefined;
  }

  async deleteLogsBefore(before: number): Promise<number> {
    const result = await this.db.deleteFrom("logs").where("timestamp", "<", before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  tail(after: TailPosition, limit: number): Promise<TailBatch> {
    return tailEvents(this.db, this.dialect, after, limit);
  }

  eventsAfter(after: { stateId: number; logId: number }, options: { flowRunId?: string; limit: number }): Promise<{ states: StateRecord[]; logs: LogRecord[] }> {
    return eventsAfter(this.db, after, options);
  }

  listEvents(query: EventQuery): Promise<Page<EventRecord>> {
    return listEvents(this.db, query);
  }

  async emitEvents(events: readonly NewEvent[]): Promise<void> {
    if (!events.length) return;
    // Rerunnable: an event already stored (a commit whose answer was lost) is skipped by id.
    await this.transaction((tx) => appendEvents(tx, this, events), { rerunnable: true });
  }

  logRunValues(batch: readonly RunValues[]): Promise<void> {
    if (!batch.length) return Promise.resolve();
    // Rerunnable: every write replaces by key, so a batch applied twice stores the same.
    return this.transaction((tx) => writeRunValues(tx, batch, Date.now()), { rerunnable: true });
  }

  recordAssetReads(request: AssetReadRequest): Promise<(AssetVersion | null)[]> {
    // Rerunnable: a read recorded twice is one row.
    return this.transaction((tx) => recordAssetReads(tx, request, Date.now()), { rerunnable: true });
  }

  materializeAsset(materialization: AssetMaterialization): Promise<MaterializeOutcome> {
    // Rerunnable: applied again, it finds the version it made and confirms it.
    return this.transaction((tx) => writeMaterialization(tx, this, materialization, Date.now()), { rerunnable: true });
  }

  deleteEventsBefore(before: number): Promise<number> {
    return this.transaction((tx) => deleteEventsBefore(tx, before), { rerunnable: true });
  }

  eventTailStart(): Promise<EventTailPosition> {
    return eventTailStart(this.db, this.dialect);
  }

  tailEventLog(after: EventTailPosition, limit: number): Promise<EventTailBatch> {
    return tailEventLog(this.db, this.dialect, after, limit);
  }

  /**
   * Stores an artifact, or replaces the one of the same id and run: the engine gives an artifact
   * that a later attempt publishes again the id of the earlier attempt's (FlowRunState's
   * `nextArtifactId`), and a request sent again after a lost answer writes the same row. An id
   * that belongs to another run is refused as a duplicate key.
   */
  async createArtifact(a: Artifact, content?: Uint8Array): Promise<void> {
    const row = {
      id: a.id,
      key: a.key,
      type: a.type,
      data: JSON.stringify(a.data),
      description: a.description,
      flow_run_id: a.flowRunId,
      task_run_id: a.taskRunId,
      created_at: a.createdAt,
      updated_at: null,
      content: content ? Buffer.from(content.buffer, content.byteOffset, content.byteLength) : null,
    };
    const written = await this.db
      .insertInto("artifacts")
      .values(row)
      .onConflict((oc) =>
        oc
          .column("id")
          .doUpdateSet({ key: row.key, type: row.type, data: row.data, description: row.description, created_at: row.created_at, updated_at: null, content: row.content })
          .where("artifacts.flow_run_id", "=", row.flow_run_id)
          .where((eb) => (row.task_run_id === null ? eb("artifacts.task_run_id", "is", null) : eb("artifacts.task_run_id", "=", row.task_run_id))),
      )
      .executeTakeFirst();
    // Nothing written: the id is another run's (or task run's). The plain insert fails with the
    // database's duplicate-key error, which callers already know how to answer.
    if (Number(written.numInsertedOrUpdatedRows ?? 0) === 0) await this.db.insertInto("artifacts").values(row).execute();
  }

  async listArtifacts(filter: { flowRunId?: string; key?: string; limit?: number }): Promise<Artifact[]> {
    let query = this.db.selectFrom("artifacts").select(ARTIFACT_COLUMNS);
    if (filter.flowRunId) query = query.where("flow_run_id", "=", filter.flowRunId);
    if (filter.key) query = query.where("key", "=", filter.key);
    const rows = await query.orderBy("created_at", "desc").limit(filter.limit ?? 100).execute();
    return rows.map(artifactFromRow);
  }

  /** Read, changed and written in one transaction (the row locked on PostgreSQL): two appends both land. */
  async updateArtifact(id: string, update: ArtifactUpdate): Promise<Artifact | undefined> {
    return this.transaction(async (tx) => {
      let query = tx.selectFrom("artifacts").select(ARTIFACT_COLUMNS).where("id", "=", id).where("flow_run_id", "=", update.flowRunId);
      if (this.dialect === "postgres") query = query.forUpdate();
      const row = await query.executeTakeFirst();
      if (!row) return undefined;
      const current = artifactFromRow(row);
      const data = updatedArtifactData(current.type, current.data, update.data, update.append ?? false);
      await tx.updateTable("artifacts").set({ data: JSON.stringify(data), updated_at: update.at }).where("id", "=", id).execute();
      return { ...current, data, updatedAt: update.at };
    });
  }

  tailPosition(): Promise<TailPosition> {
    return tailStart(this.db, this.dialect);
  }

  /**
   * Proposes `state` for a flow run. Inputs: run id, proposed state, options (force, fields to
   * set). Outcome: accepted (row updated, state appended to the history) or refused with the
   * rule's reason; the current row is returned either way. One transaction.
   */
  async setFlowRunState(id: string, state: State, options: SetStateOptions = {}): Promise<SetStateResult> {
    const { force, expect, ...fields } = options;
    // Rerunnable: a proposal whose commit was lost finds itself stored and stops there.
    const outcome = await this.transaction(async (tx) => (await transitionFlowRuns(tx, this, [{ id, state, force, expect, fields }])).get(id), { rerunnable: true });
    if (!outcome) throw new RunNotFoundError("flow run", id);
    return outcome;
  }

  pauseFlowRun(id: string, request: InputRequest): Promise<SetStateResult> {
    return flowRunInputs.pauseFlowRun(this, id, request);
  }

  getFlowRunInput(id: string, key: string): Promise<FlowRunInput | undefined> {
    return flowRunInputs.getFlowRunInput(this.db, id, key);
  }

  listFlowRunInputs(id: string): Promise<FlowRunInput[]> {
    return flowRunInputs.listFlowRunInputs(this.db, id);
  }

  supplyFlowRunInput(id: string, key: string, input: unknown, options: { by: string; pausedAt: number }): Promise<SetStateResult> {
    return flowRunInputs.supplyFlowRunInput(this, id, key, input, options);
  }

  listExpiredPauses(now: number): Promise<FlowRunInput[]> {
    return flowRunInputs.listExpiredPauses(this.db, now);
  }

  /**
   * Tells listeners that a pool may have runs to hand out (a run was scheduled), once the
   * transaction commits: PostgreSQL's listeners in every process (LISTEN baton_runs), and
   * `subscribeRunsDue` listeners of this process on either dialect (who also hear of this
   * process's runs ending, which frees slots).
   */
  async notifyRunsDue(tx: Tx, pool: string): Promise<void> {
    if (this.dialect === "postgres") await sql`select pg_notify(${RUNS_CHANNEL}, ${pool})`.execute(tx);
    const due = this.dueInTx.get(tx);
    if (due) due.add(pool);
    else this.announceRunsDue(pool);
  }

  /**
   * Runs one hand-written statement (`?` placeholders) in the caller's transaction: on SQLite a
   * statement prepared once, on the one connection the transaction holds (Kysely would prepare it
   * at every call, which costs more than running it); on PostgreSQL through the transaction.
   */
  async run(tx: Tx, statement: Statement): Promise<Record<string, unknown>[]> {
    if (this.prepareSqlite) {
      const stmt = this.prepareSqlite(statement.sql);
      if (stmt.reader) return stmt.all(...statement.params) as Record<string, unknown>[];
      stmt.run(...statement.params);
      return [];
    }
    return (await tx.executeQuery(CompiledQuery.raw(toPostgres(statement.sql), statement.params))).rows as Record<string, unknown>[];
  }

  /** Told to the observer after the commit (see TransitionHost); built only when there is one. */
  flowRunsMoved(tx: Tx, moves: () => readonly FlowRunMove[]): void {
    if (!this.observer) return;
    const pending = this.movesInTx.get(tx);
    if (pending) pending.push(moves);
    else this.observer.flowRunsMoved(moves());
  }

  /** A run of `pool` ended: this process's waiting claims are told after the commit (see TransitionHost). */
  slotFreed(tx: Tx, pool: string): void {
    this.dueInTx.get(tx)?.add(pool);
  }

  private announceRunsDue(pool: string): void {
    for (const listener of this.dueListeners) {
      try {
        listener(pool);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** The lock that elects the leading server replica over this database (leader-lock.ts), taken as `name`. */
  leaderLock(name: string): LeaderLock {
    if (this.pgPool) return new PostgresLeaderLock(this.pgPool, name);
    return this.location === ":memory:" ? new MemoryLeaderLock(this, name) : new SqliteFileLeaderLock(this.location, name);
  }

  /**
   * Calls `listener(pool)` when a pool may have runs to hand out: for writes of this process,
   * and on PostgreSQL for every process's (LISTEN on a connection of its own). Returns the
   * unsubscribe function. Notifications are hints: listeners re-check the store.
   */
  async subscribeRunsDue(listener: (pool: string) => void): Promise<() => Promise<void>> {
    this.dueListeners.add(listener);
    // A connection of its own that listens again after a restart (notifications sent meanwhile
    // are lost: the worker polls too).
    const channel = this.pgPool ? await listenWithReconnect(this.pgPool, RUNS_CHANNEL, listener, this.retry) : null;
    return async () => {
      this.dueListeners.delete(listener);
      await channel?.close();
    };
  }

  async heartbeatFlowRun(id: string, at: number): Promise<StateType | undefined> {
    // Never backwards: a heartbeat retried after a later one must not make a live run look stale.
    const latest = this.dialect === "postgres" ? sql<number>`greatest(coalesce(heartbeat_at, 0), ${at})` : sql<number>`max(coalesce(heartbeat_at, 0), ${at})`;
    const row = await this.db.updateTable("flow_runs").set({ heartbeat_at: latest }).where("id", "=", id).returning("state_type").executeTakeFirst();
    return row?.state_type as StateType | undefined;
  }

  async crashStaleFlowRuns(now: number, options: { onlyId?: string; missedBeats?: number; aliveSince?: number } = {}): Promise<string[]> {
    const missed = options.missedBeats ?? 3;
    // A run is stale once `missed` of its own heartbeat intervals passed without a beat (runs
    // that never said their interval get the default, 30 s), or once the worker that claimed it
    // missed as many of its own: a worker SIGKILLed between claiming a run and starting it
    // leaves a Pending run that no process will ever beat for. Beats are counted from
    // `aliveSince` at the earliest, and from the database's return after an outage this store
    // rode out (read when the rows are judged: the reads may have waited the outage out).
    const since = () => Math.max(options.aliveSince ?? 0, this.retry.reconnectedAt);
    const missedOwn = (row: CrashCandidate, beats: number) =>
      row.state_type !== "PENDING" && Math.max(Number(row.heartbeat_at ?? row.state_timestamp), since()) + beats * Number(row.heartbeat_ms ?? DEFAULT_HEARTBEAT_MS) < now;
    const ownStale = (row: CrashCandidate) => missedOwn(row, missed);
    const workerLost = (row: CrashCandidate) => row.worker_beat != null && Math.max(Number(row.worker_beat), since()) + missed * Number(row.worker_ms ?? DEFAULT_WORKER_HEARTBEAT_MS) < now;
    // A Pending run of a lost worker has no process at all. A running one has its own, which
    // dies with the worker (the lifeline): it is Crashed once it also missed a beat — not while
    // it still beats (a hung but living worker), or it could end up running twice.
    const isStale = (row: CrashCandidate) => ownStale(row) || (workerLost(row) && (row.state_type === "PENDING" || missedOwn(row, 1.5)));
    const candidates = (tx: Tx) => {
      let query = tx
        .selectFrom("flow_runs")
        .leftJoin("workers", "workers.id", "flow_runs.worker_id")
        .select([
          "flow_runs.id",
          "flow_runs.state_type",
          "flow_runs.heartbeat_at",
          "flow_runs.state_timestamp",
          "flow_runs.heartbeat_ms",
          "flow_runs.worker_id",
          "workers.name as worker_name",
          "workers.pool_name as worker_pool",
          "workers.heartbeat_at as worker_beat",
          "workers.heartbeat_ms as worker_ms",
        ])
        .where((eb) => eb.or([eb("flow_runs.state_type", "in", ["RUNNING", "CANCELLING"]), eb.and([eb("flow_runs.state_type", "=", "PENDING"), eb("flow_runs.worker_id", "is not", null)])]));
      if (options.onlyId) query = query.where("flow_runs.id", "=", options.onlyId);
      return query;
    };
    const stale = (await candidates(this.db).execute()).filter(isStale).map((r) => r.id);
    const crashed: string[] = [];
    // In chunks, each one transaction: after a long outage thousands of runs may be stale, and
    // one transaction per run would hold the write lock (and the event loop) for seconds.
    for (const ids of chunks(stale, 200)) {
      const done = await this.transaction(async (tx) => {
        // Re-check inside the transaction: a run may have heartbeated or finished since.
        let recheck = candidates(tx).where("flow_runs.id", "in", ids);
        if (this.dialect === "postgres") recheck = recheck.forUpdate("flow_runs");
        const rows = (await recheck.execute()).filter(isStale);
        if (!rows.length) return [];
        const at = Date.now();
        const message = (row: CrashCandidate) =>
          ownStale(row)
            ? `no heartbeat since ${new Date(Number(row.heartbeat_at ?? row.state_timestamp)).toISOString()}: the process running this flow run died`
            : `its worker has not heartbeated since ${new Date(Number(row.worker_beat)).toISOString()}: the worker died`;
        // Through the primitive: the rules decide, the history and events are written, and runs
        // of deployments with retries left go back to their pool in this commit.
        const outcomes = await transitionFlowRuns(
          tx,
          this,
          rows.map((row) => ({ id: row.id, state: makeState("Crashed", { message: message(row), timestamp: at }) })),
          at,
        );
        const done = rows.filter((r) => outcomes.get(r.id)?.accepted);
        if (!done.length) return [];
        // Every task run the rules let crash (any that has not ended: running, pending, waiting
        // for its retry, paused) ends with its flow run; finished ones keep their state.
        const open = await tx
          .selectFrom("task_runs")
          .select(["id", "flow_run_id"])
          .where("flow_run_id", "in", done.map((r) => r.id))
          .where("state_type", "in", [...CRASHABLE_TYPES])
          .execute();
        const flowRuns = new Map(done.map((r) => [r.id, outcomes.get(r.id)!.run]));
        const crashedTask = makeState("Crashed", { message: "the flow run crashed while this task run was active", timestamp: at });
        await transitionTaskRuns(tx, this, open.map((r) => ({ id: r.id, state: crashedTask })), flowRuns, at);
        // A worker whose runs were crashed because it stopped beating was declared dead.
        const lost = new Map<string, CrashCandidate[]>();
        for (const row of done) if (!ownStale(row) && row.worker_id) lost.set(row.worker_id, [...(lost.get(row.worker_id) ?? []), row]);
        const workerEvents = [...lost].map(([workerId, runs]) =>
          workerLostEvent(newId(), { id: workerId, name: runs[0]!.worker_name, pool: runs[0]!.worker_pool, lastHeartbeat: Number(runs[0]!.worker_beat) }, at, runs.map((r) => r.id)),
        );
        await appendEvents(tx, this, workerEvents);
        return done.map((r) => r.id);
      });
      crashed.push(...done);
    }
    return crashed;
  }

  /**
   * Applies a batch of writes in one transaction: a few multi-row statements per kind (see
   * batch-sql.ts). Task runs are upserted with their latest snapshot, so a run created and
   * finished within one batch costs one row write. Results are written before the task runs
   * that point at them. SQLite: one synchronous BEGIN IMMEDIATE transaction (see applySqlite).
   * PostgreSQL: one statement when it fits.
   */
  async applyWrites(ops: readonly WriteOp[], options: { batchId?: string } = {}): Promise<boolean> {
    if (ops.length === 0) return true;
    const taskRuns = new Map<string, TaskRun>();
    const cache = new Map<string, CacheEntry>();
    const batch: BatchRows = { results: [], taskRuns: [], dependencies: [], states: [], cache: [], logs: [] };
    const events: NewEvent[] = [];
    for (const op of ops) {
      switch (op.kind) {
        case "taskRun":
          taskRuns.set(op.taskRun.id, op.taskRun);
          break;
        case "state":
          batch.states.push(op.state);
          break;
        case "dependency":
          batch.dependencies.push(op.dependency);
          break;
        case "result":
          batch.results.push(op.result);
          break;
        case "cache":
          cache.set(op.entry.cacheKey, op.entry);
          break;
        case "log":
          batch.logs.push(op.log);
          break;
        case "event":
          events.push(op.event);
          break;
      }
    }
    batch.taskRuns = [...taskRuns.values()];
    batch.cache = [...cache.values()];
    // The batch's own events (task-run failures, error log lines) commit with it.
    const needFacts = flowRunsNeedingFacts(ops);
    if (needFacts.size) events.push(...batchEvents(ops, await this.flowRunFacts(needFacts)));
    // Events last: their statements run in order after the batch's (see event-log.ts).
    const statements = [...batchStatements(batch, this.dialect), ...eventStatements(events)];
    if (statements.length === 0) return true;
    const observer = this.observer;
    const started = observer ? performance.now() : 0;
    let applied: boolean;
    if (this.runSqliteBatch) {
      // The id is claimed in the batch's own transaction: applied once, or not at all.
      const claim = options.batchId ? { sql: "insert into applied_batches (id, applied_at) values (?, ?) on conflict (id) do nothing", params: [options.batchId, Date.now()] } : undefined;
      applied = await this.applySqlite(statements, claim);
    } else applied = await this.applyPostgres(statements, options.batchId, events.length > 0);
    if (observer) {
      observer.committed("batch", (performance.now() - started) / 1000);
      if (applied && batch.taskRuns.length) observer.taskRunsWritten(batch.taskRuns.map((t) => ({ stateType: t.state.type, startTime: t.startTime, endTime: t.endTime })));
    }
    return applied;
  }

  /**
   * PostgreSQL: the batch claims an id (the caller's, or a new one) in applied_batches as one
   * more CTE of its single statement, without ON CONFLICT, so a duplicate id fails the whole
   * statement on the primary key, in the same round trip. The claim is what makes the batch
   * safe to send again when the connection drops with its outcome unknown: on a retry, a
   * duplicate means the attempt before committed. Returns false if the caller's id had been
   * applied before this call.
   */
  private async applyPostgres(statements: Statement[], batchId: string | undefined, sequential: boolean): Promise<boolean> {
    const now = Date.now();
    const claim = { sql: "insert into applied_batches (id, applied_at) values (?, ?)", params: [batchId ?? newId(), now] };
    this.pruneAppliedBatches(now);
    return this.retry.run(async (attempt) => {
      try {
        await this.runPostgresBatch([claim, ...statements], sequential);
        return true;
      } catch (error) {
        const e = error as { code?: string; constraint?: string };
        if (e.code === "23505" && e.constraint === "applied_batches_pkey") return attempt > 1;
        throw error;
      }
    });
  }

  /**
   * Deletes batch ids older than a day, at most every ten minutes per process, in the
   * background: a batch is retried for at most the retry windows (about a minute), so an id
   * that old will never be sent again, and without pruning the table gains a row per batch.
   */
  private pruneAppliedBatches(now: number): void {
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + APPLIED_BATCHES_PRUNE_EVERY_MS;
    this.db
      .deleteFrom("applied_batches")
      .where("applied_at", "<", now - APPLIED_BATCHES_KEEP_MS)
      .execute()
      .catch(() => (this.nextPruneAt = 0)); // tried again with the next batch
  }

  /**
   * The batch's one synchronous transaction. Nothing can interleave with a synchronous call, so
   * it runs at once unless a `transaction()` is open on the connection (it awaits between its
   * statements): then it waits for Kysely's connection, or its statements would join that one.
   */
  private async applySqlite(statements: Statement[], claim?: Statement): Promise<boolean> {
    const run = this.runSqliteBatch!;
    if (!this.sqliteInTransaction()) return run(statements, claim);
    return this.db.connection().execute(async () => run(statements, claim));
  }

  /** One statement when it can be; `sequential`: statements that read earlier ones' rows (events) run one by one in a transaction. */
  private async runPostgresBatch(statements: Statement[], sequential = false): Promise<void> {
    const combined = sequential ? null : combinedPostgresStatement(statements);
    if (combined && this.pgPool && combined.params.length <= 400) {
      // Small batches (a sequential flow's) repeat the same shape: a named statement is
      // parsed and planned once per connection.
      const name = `baton_${createHash("sha1").update(combined.sql).digest("hex").slice(0, 20)}`;
      await this.pgPool.query({ name, text: combined.sql, values: combined.params });
      return;
    }
    if (combined) {
      await this.db.executeQuery(CompiledQuery.raw(combined.sql, combined.params));
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      for (const s of statements) await tx.executeQuery(CompiledQuery.raw(toPostgres(s.sql), s.params));
    });
  }

  /** What the events of a batch say of its flow runs (these facts never change: cached). */
  private async flowRunFacts(ids: ReadonlySet<string>): Promise<Map<string, FlowRunOfTask>> {
    const out = new Map<string, FlowRunOfTask>();
    const missing = [...ids].filter((id) => {
      const known = this.factsCache.get(id);
      if (known) out.set(id, known);
      return !known;
    });
    for (const part of chunks(missing)) {
      const rows = await this.db
        .selectFrom("flow_runs")
        .innerJoin("flows", "flows.id", "flow_runs.flow_id")
        .select(["flow_runs.id", "flow_runs.name", "flow_runs.flow_id", "flows.name as flow_name", "flow_runs.deployment_id"])
        .where("flow_runs.id", "in", part)
        .execute();
      for (const r of rows) {
        const facts = { id: r.id, name: r.name, flowId: r.flow_id, flowName: r.flow_name, deploymentId: r.deployment_id };
        if (this.factsCache.size > 10_000) this.factsCache.clear();
        this.factsCache.set(r.id, facts);
        out.set(r.id, facts);
      }
    }
    return out;
  }

  async batchApplied(batchId: string): Promise<boolean> {
    return (await this.db.selectFrom("applied_batches").select("id").where("id", "=", batchId).executeTakeFirst()) !== undefined;
  }

  async getTaskRun(id: string): Promise<TaskRun | undefined> {
    const row = await this.db.selectFrom("task_runs").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? taskRunFromRow(row) : undefined;
  }

  async getTaskRuns(ids: readonly string[]): Promise<TaskRun[]> {
    const out: TaskRun[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom("task_runs").selectAll().where("id", "in", ids.slice(i, i + 500)).execute();
      out.push(...rows.map(taskRunFromRow));
    }
    return out;
  }

  async listTaskRuns(flowRunId: string): Promise<TaskRun[]> {
    const rows = await this.db
      .selectFrom("task_runs")
      .selectAll()
      .where("flow_run_id", "=", flowRunId)
      .orderBy("created_at")
      .orderBy("task_key")
      .execute();
    return rows.map(taskRunFromRow);
  }

  async findTaskRunsByIdPrefix(prefix: string, limit: number): Promise<TaskRun[]> {
    const rows = await this.db.selectFrom("task_runs").selectAll().where(sql<boolean>`id like ${`${escapeLike(prefix.toLowerCase())}%`} escape '\\'`).orderBy("id").limit(limit).execute();
    return rows.map(taskRunFromRow);
  }

  async listDependencies(flowRunId: string): Promise<TaskDependency[]> {
    const rows = await this.db.selectFrom("task_dependencies").selectAll().where("flow_run_id", "=", flowRunId).execute();
    return rows.map((r) => ({ taskRunId: r.task_run_id, upstreamTaskRunId: r.upstream_task_run_id, kind: r.kind as TaskDependency["kind"] }));
  }

  async stateHistory(runId: string): Promise<StateRecord[]> {
    const flowRun = await this.db.selectFrom("flow_runs").select("id").where("id", "=", runId).executeTakeFirst();
    const taskRun = flowRun ? undefined : await this.db.selectFrom("task_runs").select("flow_run_id").where("id", "=", runId).executeTakeFirst();
    if (!flowRun && !taskRun) return [];
    const rows = await this.db
      .selectFrom("states")
      .selectAll()
      .$call((q) =>
        flowRun
          ? q.where("flow_run_id", "=", runId).where("task_run_id", "is", null)
          : q.where("flow_run_id", "=", taskRun!.flow_run_id).where("task_run_id", "=", runId),
      )
      .orderBy("id")
      .execute();
    return rows.map(stateFromRow);
  }

  async getResult(id: string): Promise<ResultRecord | undefined> {
    const row = await this.db.selectFrom("results").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    return { id: row.id, serializer: row.serializer, value: row.value, path: row.path, size: Number(row.size), createdAt: Number(row.created_at) };
  }

  async lookupCache(cacheKey: string, now: number): Promise<CacheEntry | undefined> {
    const row = await this.db
      .selectFrom("cache_entries")
      .selectAll()
      .where("cache_key", "=", cacheKey)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      cacheKey: row.cache_key,
      resultId: row.result_id,
      taskRunId: row.task_run_id,
      expiresAt: row.expires_at == null ? null : Number(row.expires_at),
      createdAt: Number(row.created_at),
    };
  }

  async listLogs(filter: { flowRunId: string; taskRunId?: string; minLevel?: number; afterId?: number; limit?: number }): Promise<LogRecord[]> {
    let query = this.db.selectFrom("logs").selectAll().where("flow_run_id", "=", filter.flowRunId);
    if (filter.taskRunId) query = query.where("task_run_id", "=", filter.taskRunId);
    if (filter.minLevel) query = query.where("level", ">=", filter.minLevel);
    if (filter.afterId) query = query.where("id", ">", filter.afterId);
    const rows = await query.orderBy("id").limit(filter.limit ?? 1000).execute();
    return rows.map(logFromRow);
  }
}
