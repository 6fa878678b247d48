/**
 * The election of the replica that runs the singleton services (server/leadership.ts over
 * store/leader-lock.ts): two electors on separate connections, one leads; on PostgreSQL the
 * leader's lock connection is terminated (pg_terminate_backend) and the other takes over, then
 * the first, reconnected, takes it back the same way. On a SQLite file, the follower takes
 * over when the leader resigns.
 */
import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { LeaderElector } from "../../src/server/leadership.ts";
import { freshDatabaseUrl, type TestDialect } from "../support/databases.ts";
import { until } from "../support/processes.ts";

const quiet = { info: () => undefined, warn: () => undefined };

interface Replica {
  elector: LeaderElector;
  /** What the elector told its services, in order. */
  calls: string[];
}

describe("leader election", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function replicas(dialect: TestDialect): Promise<{ url: string; a: Replica; b: Replica; stores: KyselyStore[] }> {
    const db = await freshDatabaseUrl(dialect);
    cleanups.push(db.cleanup);
    const stores = [await openStore(db.url), await openStore(db.url)];
    for (const s of stores) cleanups.push(() => s.close());
    const make = (store: KyselyStore, name: string): Replica => {
      const calls: string[] = [];
      const elector = new LeaderElector(store.leaderLock(name), { name, retryMs: 200, log: quiet, onElected: () => void calls.push("elected"), onDeposed: () => void calls.push("deposed") });
      cleanups.push(() => elector.stop());
      return { elector, calls };
    };
    return { url: db.url, a: make(stores[0]!, "replica-a"), b: make(stores[1]!, "replica-b"), stores };
  }

  it("on PostgreSQL: the other replica takes over when the leader's lock connection is terminated, and a reconnected one can lead again", async () => {
    const { url, a, b } = await replicas("postgres");
    await a.elector.start();
    await b.elector.start();
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(await b.elector.status()).toMatchObject({ isLeader: false, since: null, holder: "replica-a", replica: "replica-b" });
    expect((await a.elector.status()).since).toBeGreaterThan(0);

    const admin = new pg.Client(url);
    await admin.connect();
    cleanups.push(() => admin.end());
    const terminate = async (name: string) => {
      const { rows } = await admin.query("select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = $1", [`baton-leader:${name}`]);
      expect(rows).toEqual([{ done: true }]);
    };

    await terminate("replica-a");
    const lostAt = Date.now();
    // The leader hears of it at once (the connection's error) and stops its services.
    await until(() => a.calls.includes("deposed"), "replica-a deposed", 20_000);
    await until(() => b.elector.isLeader, "replica-b elected", 20_000);
    expect(Date.now() - lostAt).toBeLessThan(20_000); // ~retryMs when quiet; CI runs many suites at once
    expect(a.elector.isLeader).toBe(false);
    expect(a.calls).toEqual(["elected", "deposed"]);
    expect(b.calls).toEqual(["elected"]);
    expect(await a.elector.status()).toMatchObject({ isLeader: false, holder: "replica-b" });

    // replica-a connected again as a follower: it takes the lead when replica-b's connection goes.
    await terminate("replica-b");
    await until(() => a.elector.isLeader, "replica-a elected again", 20_000);
    expect(b.calls).toEqual(["elected", "deposed"]);
    expect(a.calls).toEqual(["elected", "deposed", "elected"]);
    // Never both: the one that lost the lock stepped down before the other could take it.
    expect(b.elector.isLeader).toBe(false);
  });

  it("on PostgreSQL: a leader that resigns frees the lock for the other", async () => {
    const { a, b } = await replicas("postgres");
    await a.elector.start();
    await b.elector.start();
    await a.elector.stop();
    expect(a.calls).toEqual(["elected", "deposed"]);
    await until(() => b.elector.isLeader, "replica-b elected", 20_000);
    expect((await b.elector.status()).holder).toBe("replica-b");
  });

  it("on a SQLite file: one leader, and the other takes over when it resigns", async () => {
    const { a, b } = await replicas("sqlite");
    await a.elector.start();
    await b.elector.start();
    expect([a.elector.isLeader, b.elector.isLeader]).toEqual([true, false]);
    expect(await b.elector.status()).toMatchObject({ isLeader: false, holder: "replica-a" });
    await a.elector.stop();
    await until(() => b.elector.isLeader, "replica-b elected", 20_000);
    expect(await a.elector.status()).toMatchObject({ isLeader: false, holder: "replica-b" });
  });

  it("on in-memory SQLite: the first elector of a store leads", async () => {
    const store = await openStore("sqlite::memory:");
    cleanups.push(() => store.close());
    const a = new LeaderElector(store.leaderLock("one"), { name: "one", retryMs: 200, log: quiet, onElected: () => undefined, onDeposed: () => undefined });
    const b = new LeaderElector(store.leaderLock("two"), { name: "two", retryMs: 200, log: quiet, onElected: () => undefined, onDeposed: () => undefined });
    cleanups.push(() => a.stop(), () => b.stop());
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.stop();
    await until(() => b.isLeader, "two elected", 5_000);
  });
});
