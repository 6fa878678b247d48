/**
 * The live event feed loses nothing: on PostgreSQL a transaction that took a lower id commits
 * after a higher one was read, and the tail (the server's hub, local `followEvents`) still
 * delivers it. Gap bookkeeping is checked on its own too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { EventHub } from "../../src/server/events.ts";
import { openEventFeed, type BatonEvent } from "../../src/client/event-stream.ts";
import { advance, GAP_GRACE_MS, resumePoint } from "../../src/store/event-tail.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

const insertState = (message: string) => ({
  text: "insert into states (flow_run_id, task_run_id, type, name, message, timestamp, scheduled_at) values ('run-1', null, 'RUNNING', 'Running', $1, $2, null) returning id",
  values: [message, Date.now()],
});

describe.each(DIALECTS)("event tail on %s", (dialect) => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    ({ url, cleanup } = db);
    store = await openStore(url);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const write = (message: string) =>
    store.applyWrites([{ kind: "state", state: { flowRunId: "run-1", taskRunId: null, type: "RUNNING", name: "Running", message, timestamp: Date.now() } }]);

  it("delivers states and logs committed after a position, once", async () => {
    let position = await store.tailPosition();
    await write("a");
    await store.applyWrites([{ kind: "log", log: { flowRunId: "run-1", taskRunId: null, level: 30, message: "line", timestamp: Date.now() } }]);
    const first = await store.tail(position, 100);
    expect(first.states.map((s) => s.message)).toEqual(["a"]);
    expect(first.logs.map((l) => l.message)).toEqual(["line"]);
    position = first.position;
    const again = await store.tail(position, 100);
    expect(again.states).toHaveLength(0);
    expect(again.logs).toHaveLength(0);
  });

  it.runIf(dialect === "postgres")("delivers a lower id that commits after a higher one was read (hub and local follower)", async () => {
    const hub = new EventHub(store, 60_000);
    await hub.start();
    const received: BatonEvent[] = [];
    hub.subscribe({ flowRunId: null, send: (event) => void (event.kind !== "resource" && received.push(event)) });
    const feed = await openEventFeed(store, "run-1");
    const followed: string[] = [];
    const following = feed.run((event) => {
      if (event.kind === "state") followed.push(event.message ?? "");
      return followed.length < 2;
    });

    const late = new pg.Client(url);
    await late.connect();
    try {
      await late.query("begin");
      const lowId = Number((await late.query(insertState("late"))).rows[0].id);
      await write("early");
      await hub.poll();
      const earlyEvent = received.find((e) => e.kind === "state" && e.message === "early");
      expect(earlyEvent && earlyEvent.id).toBeGreaterThan(lowId);
      expect(received.some((e) => e.kind === "state" && e.message === "late")).toBe(false);
      await late.query("commit");
    } finally {
      await late.end();
    }
    await hub.poll();
    expect(received.filter((e) => e.kind === "state").map((e) => (e as { message: string }).message)).toEqual(["early", "late"]);
    await Promise.race([following, new Promise((r) => setTimeout(r, 5000))]);
    feed.close();
    expect(followed.sort()).toEqual(["early", "late"]);
    hub.stop();
  });

  it.runIf(dialect === "postgres")("awaits a hole that is open when the reader starts", async () => {
    const late = new pg.Client(url);
    await late.connect();
    try {
      await late.query("begin");
      await late.query(insertState("open at start"));
      await write("committed before start");
      const position = await store.tailPosition();
      expect(position.pending?.some((g) => g.table === "states")).toBe(true);
      await late.query("commit");
      const batch = await store.tail(position, 100);
      expect(batch.states.map((s) => s.message)).toEqual(["open at start"]);
    } finally {
      await late.end();
    }
  });
});

describe("gap bookkeeping", () => {
  const snapshot = { xmin: "100", xmax: "105" };
  it("opens a gap for skipped ids and closes it when they arrive", () => {
    const first = advance("states", 10, [11, 14], [], snapshot, 0, false);
    expect(first.cursor).toBe(14);
    expect(first.gaps).toEqual([{ table: "states", from: 12, to: 13, xmax: "105", seenAt: 0 }]);
    const second = advance("states", 14, [12], first.gaps, snapshot, 10, false);
    expect(second.gaps).toEqual([{ table: "states", from: 13, to: 13, xmax: "105", seenAt: 0 }]);
    expect(resumePoint({ stateId: 14, logId: 3, pending: second.gaps })).toEqual({ stateId: 12, logId: 3 });
  });

  it("gives a gap up only once every transaction open when it was found has ended, after the grace period", () => {
    const { gaps } = advance("logs", 0, [2], [], snapshot, 0, false);
    // Transactions below 105 may still run (xmin 100): kept.
    expect(advance("logs", 2, [], gaps, { xmin: "104", xmax: "110" }, GAP_GRACE_MS + 1, false).gaps).toHaveLength(1);
    // All ended, but within the grace period: kept.
    expect(advance("logs", 2, [], gaps, { xmin: "105", xmax: "110" }, GAP_GRACE_MS - 1, false).gaps).toHaveLength(1);
    // A read cut short by its limit proves nothing: kept.
    expect(advance("logs", 2, [], gaps, { xmin: "105", xmax: "110" }, GAP_GRACE_MS + 1, true).gaps).toHaveLength(1);
    expect(advance("logs", 2, [], gaps, { xmin: "105", xmax: "110" }, GAP_GRACE_MS + 1, false).gaps).toHaveLength(0);
  });
});
