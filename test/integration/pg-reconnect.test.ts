/**
 * The PostgreSQL store losing its connections, made deterministic with a TCP proxy in front of
 * the shared server (which is never restarted): connections cut while a statement is in flight,
 * answers lost after a commit (an unknown outcome), a server refusing connections. Work is run
 * again only where that is safe, and nothing is applied twice. (test/chaos/pg-restart.test.ts
 * restarts a real server under a running flow.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { sql } from "kysely";
import { CommitOutcomeUnknownError } from "../../src/core/errors.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { openStore } from "../../src/store/open.ts";
import { freshDatabaseUrl } from "../support/databases.ts";
import { startPgProxy, type PgProxy } from "../support/pg-proxy.ts";
import { until } from "../support/processes.ts";

describe("PostgreSQL store through lost connections", () => {
  let proxy: PgProxy;
  let store: KyselyStore;
  /** Straight to the server, not through the proxy: sees what was committed. */
  let direct: pg.Client;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("postgres");
    cleanup = db.cleanup;
    proxy = await startPgProxy(db.url);
    store = await openStore(proxy.url, { retryMs: 20_000 });
    direct = new pg.Client(db.url);
    await direct.connect();
  });

  afterAll(async () => {
    await store.close();
    await direct.end();
    await proxy.close();
    await cleanup();
  });

  const newRun = () =>
    store.createFlowRun({ id: newId(), flowName: "lost", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, entrypoint: null, state: makeState("Pending") });
  const count = async (query: string, params: unknown[]) => Number((await direct.query<{ n: string }>(query, params)).rows[0]!.n);

  it("runs a statement again on a new connection when its own dies under it", async () => {
    const run = await newRun();
    const before = proxy.accepted;
    const held = proxy.holdAnswersAfter(run.id);
    const read = store.getFlowRun(run.id);
    await held;
    proxy.cut();
    expect((await read)?.id).toBe(run.id);
    expect(proxy.accepted).toBeGreaterThan(before);
  });

  it("waits for a server that refuses connections", async () => {
    const run = await newRun();
    proxy.cut();
    await proxy.refuse();
    const started = Date.now();
    setTimeout(() => void proxy.accept(), 700);
    expect((await store.getFlowRun(run.id))?.id).toBe(run.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  it("runs a transaction cut short before its COMMIT again, whole", async () => {
    const name = `tx-${newId()}`;
    let attempts = 0;
    await store.transaction(async (tx) => {
      attempts++;
      await sql`insert into flows (id, name, description, tags, created_at, updated_at) values (${newId()}, ${name}, null, '[]', 0, 0)`.execute(tx);
      if (attempts > 1) return;
      const held = proxy.holdAnswersAfter(`cut-${name}`);
      const probe = sql`select ${`cut-${name}`} as here`.execute(tx);
      await held;
      proxy.cut();
      await probe;
    });
    expect(attempts).toBe(2);
    expect(await count("select count(*) as n from flows where name = $1", [name])).toBe(1);
  });

  it("does not run a transaction again when its COMMIT's answer is lost: the outcome is unknown", async () => {
    const name = `unknown-outcome-${newId()}`; // not containing "commit": the hold is for the COMMIT alone
    let attempts = 0;
    const held = proxy.holdAnswersAfter("commit");
    const pending = store.transaction(async (tx) => {
      attempts++;
      await sql`insert into flows (id, name, description, tags, created_at, updated_at) values (${newId()}, ${name}, null, '[]', 0, 0)`.execute(tx);
    });
    await held;
    await until(async () => (await count("select count(*) as n from flows where name = $1", [name])) === 1, "the commit to land");
    proxy.cut();
    await expect(pending).rejects.toThrow(CommitOutcomeUnknownError);
    await expect(pending).rejects.toThrow(/dropped while committing a transaction; it may or may not have been applied/);
    expect(attempts).toBe(1);
  });

  it("a state change whose COMMIT's answer is lost finds itself stored, and is not applied twice", async () => {
    const run = await newRun();
    const held = proxy.holdAnswersAfter("commit");
    const pending = store.setFlowRunState(run.id, makeState("Running"));
    await held;
    await until(async () => (await count("select count(*) as n from flow_runs where id = $1 and state_name = 'Running'", [run.id])) === 1, "the commit to land");
    proxy.cut();
    const result = await pending;
    expect(result.accepted).toBe(true);
    expect(result.run.state.name).toBe("Running");
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Pending", "Running"]);
  });

  it("a write batch whose answer is lost is sent again and applied once", async () => {
    const run = await newRun();
    const message = `lost-answer-${newId()}`;
    const held = proxy.holdAnswersAfter(message);
    // No batch id from the caller: on PostgreSQL the store claims one of its own.
    const pending = store.applyWrites([{ kind: "log", log: { flowRunId: run.id, taskRunId: null, level: 20, message, timestamp: Date.now() } }]);
    await held;
    await until(async () => (await count("select count(*) as n from logs where message = $1", [message])) === 1, "the batch to land");
    proxy.cut();
    expect(await pending).toBe(true);
    expect(await count("select count(*) as n from logs where message = $1", [message])).toBe(1);
  });

  it("deletes batch ids older than a day, in the background of a process's first batch", async () => {
    const [old, recent] = [newId(), newId()];
    await direct.query("insert into applied_batches (id, applied_at) values ($1, $2), ($3, $4)", [old, Date.now() - 25 * 3600_000, recent, Date.now() - 23 * 3600_000]);
    const other = await openStore(proxy.url);
    try {
      const run = await newRun();
      await other.applyWrites([{ kind: "log", log: { flowRunId: run.id, taskRunId: null, level: 20, message: "prune", timestamp: Date.now() } }]);
      await until(async () => (await count("select count(*) as n from applied_batches where id = $1", [old])) === 0, "the day-old batch id to be deleted");
      expect(await count("select count(*) as n from applied_batches where id = $1", [recent])).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("listens again for due runs after its connection drops", async () => {
    const heard: string[] = [];
    const unsubscribe = await store.subscribeRunsDue((pool) => heard.push(pool));
    try {
      proxy.cut();
      // From another connection: only the store's LISTEN can hear it.
      await until(async () => {
        await direct.query("select pg_notify('baton_runs', 'after-the-cut')");
        return heard.includes("after-the-cut");
      }, "a notification after the cut", 15_000);
    } finally {
      await unsubscribe();
    }
  });

  it("counts missed heartbeats from the database's return after an outage it rode out", async () => {
    const run = await newRun();
    // Ten 100 ms beats missed before the check: stale, but for the outage the check waits out.
    await store.setFlowRunState(run.id, makeState("Running"), { heartbeatMs: 100, heartbeatAt: Date.now() - 1_000 });
    proxy.cut();
    await proxy.refuse();
    setTimeout(() => void proxy.accept(), 300);
    expect(await store.crashStaleFlowRuns(Date.now(), { onlyId: run.id })).toEqual([]);
    // Three beats after the return with none arriving: now it is stale.
    await new Promise((r) => setTimeout(r, 400));
    expect(await store.crashStaleFlowRuns(Date.now(), { onlyId: run.id })).toEqual([run.id]);
  });

  it("opens once the server accepts connections, or fails saying how long it waited", async () => {
    await proxy.refuse();
    const started = Date.now();
    setTimeout(() => void proxy.accept(), 700);
    const other = await openStore(proxy.url, { retryMs: 20_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    await other.close();

    await proxy.refuse();
    try {
      await expect(openStore(proxy.url, { retryMs: 500 })).rejects.toThrow(
        /^cannot open the Baton store at postgres:\/\/postgres@127\.0\.0\.1:\d+\/baton_test_\w+: unreachable for 0\.\d s \(BATON_DATABASE_RETRY_MS\): connect ECONNREFUSED/,
      );
    } finally {
      await proxy.accept();
    }
  });
});
