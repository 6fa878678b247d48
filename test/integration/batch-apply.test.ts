/**
 * The store's write batch beside an open transaction, on real SQLite and PostgreSQL. On SQLite
 * the batch runs synchronously on the one connection: while a `transaction()` holds it across
 * awaits, the batch must wait for it rather than run inside it (a rollback of the other
 * transaction must not take the batch's rows with it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { openStore } from "../../src/store/open.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

describe.each(DIALECTS)("write batch beside an open transaction, on %s", (dialect) => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    store = await openStore(db.url);
  });

  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  it("commits on its own while another transaction is open, and survives that one's rollback", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "beside", name: "before", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, entrypoint: null, state: makeState("Pending") });
    let began!: () => void;
    const begun = new Promise<void>((resolve) => (began = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const open = store.transaction(async (tx) => {
      await sql`update flow_runs set name = 'inside' where id = ${run.id}`.execute(tx);
      began();
      await released;
      throw new Error("rolled back on purpose");
    });
    await begun;
    const log = { flowRunId: run.id, taskRunId: null, level: 20, message: "from the batch", timestamp: Date.now() };
    const batch = store.applyWrites([{ kind: "log", log }], { batchId: newId() });
    release();
    await expect(open).rejects.toThrow("rolled back on purpose");
    expect(await batch).toBe(true);
    expect((await store.listLogs({ flowRunId: run.id })).map((l) => l.message)).toEqual(["from the batch"]);
    expect((await store.getFlowRun(run.id))!.name).toBe("before");
  });

  it("stores every row of a large batch as written, whatever characters its text holds", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "texts", name: "texts", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, entrypoint: null, state: makeState("Pending") });
    // What array literals and placeholders must survive: quotes, backslashes, braces, commas, the word NULL, unicode, NUL.
    const awkward = ['say "hi"', "back\\slash", "{braces}, commas", "NULL", "", "naïve — 東京 🚀", "nul\u0000byte", "'single'", " spaced "];
    const now = Date.now();
    const ops = Array.from({ length: 3000 }, (_, i) => {
      const taskRunId = newId();
      const completed = makeState("Completed", { timestamp: now + i, message: awkward[i % awkward.length]! });
      const taskRun = { id: taskRunId, flowRunId: run.id, taskKey: `t-${i}`, taskName: "t", state: completed, runCount: 1, cacheKey: i % 2 ? null : `key-${i}`, resultId: null, error: null, tags: i % 3 ? [] : ["a", 'b"c'], createdAt: now, startTime: now, endTime: now + i };
      return [
        { kind: "taskRun" as const, taskRun },
        { kind: "state" as const, state: { ...completed, flowRunId: run.id, taskRunId } },
        { kind: "log" as const, log: { flowRunId: run.id, taskRunId, level: 20, message: awkward[(i + 1) % awkward.length]!, timestamp: now + i, extra: i % 4 ? null : { i, s: awkward[i % awkward.length] } } },
      ];
    }).flat();
    expect(await store.applyWrites(ops)).toBe(true);
    const stored = await store.listTaskRuns(run.id);
    expect(stored).toHaveLength(3000);
    const byKey = new Map(stored.map((t) => [t.taskKey, t]));
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 2999]) {
      const t = byKey.get(`t-${i}`)!;
      expect(t.state.message).toBe(awkward[i % awkward.length]!.replace("\u0000", "\uFFFD"));
      expect(t.tags).toEqual(i % 3 ? [] : ["a", 'b"c']);
      expect(t.cacheKey).toBe(i % 2 ? null : `key-${i}`);
    }
    const logs = await store.listLogs({ flowRunId: run.id, limit: 5000 });
    expect(logs).toHaveLength(3000);
    expect(logs.slice(0, 9).map((l) => l.message)).toEqual(awkward.map((_, i) => awkward[(i + 1) % awkward.length]!.replace("\u0000", "\uFFFD")));
    expect(logs[0]!.extra).toEqual({ i: 0, s: awkward[0] });
  });
});
