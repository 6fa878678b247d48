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
});
