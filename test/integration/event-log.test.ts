/**
 * The durable event log's writes, on SQLite and PostgreSQL: events appended in the caller's
 * transaction are stored once with their resource index, and events emitted by a run's code
 * travel in its write batches (direct and through the API).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { NewEvent } from "../../src/core/event-records.ts";
import { appendEvents } from "../../src/store/transitions/event-log.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";

const event = (fields: Partial<NewEvent> = {}): NewEvent => ({
  id: newId(),
  occurred: Date.now(),
  event: "data.arrived",
  resource: { id: "s3://bucket/key.csv", name: "key.csv", labels: { bucket: "bucket" } },
  related: [{ role: "tag", id: "ingest", name: "ingest" }],
  payload: { size: 10 },
  ...fields,
});

describe.each(DIALECTS)("event log on %s", (dialect) => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await apiHarness(dialect);
  });
  afterAll(() => h.close());

  const stored = () => h.store.db.selectFrom("events").selectAll().orderBy("seq").execute();
  const index = (seq: number) => h.store.db.selectFrom("event_resources").select(["resource_id", "role"]).where("event_seq", "=", seq).orderBy("role").execute();

  it("appends events in a transaction, each once, indexed by every resource it names", async () => {
    const first = event();
    await h.store.transaction((tx) => appendEvents(tx, h.store, [first, event({ related: [] })]));
    await h.store.transaction((tx) => appendEvents(tx, h.store, [first])); // sent again
    const rows = await stored();
    expect(rows.map((r) => r.id)).toContain(first.id);
    expect(rows.filter((r) => r.id === first.id)).toHaveLength(1);
    const row = rows.find((r) => r.id === first.id)!;
    expect(JSON.parse(row.resource)).toEqual(first.resource);
    expect(JSON.parse(row.payload)).toEqual({ size: 10 });
    expect(await index(Number(row.seq))).toEqual([
      { resource_id: "s3://bucket/key.csv", role: "resource" },
      { resource_id: "ingest", role: "tag" },
    ]);
    // Nothing of a transaction that rolls back.
    const lost = event();
    await expect(
      h.store.transaction(async (tx) => {
        await appendEvents(tx, h.store, [lost]);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect((await stored()).some((r) => r.id === lost.id)).toBe(false);
  });

  it("stores the events a run's code emits with its write batch, through the API too", async () => {
    const run = await h.store.createFlowRun({ id: newId(), flowName: "emits", name: "e", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    const direct = event({ related: [{ role: "flow-run", id: run.id, name: "e" }] });
    await h.store.applyWrites([{ kind: "event", event: direct, flowRunId: run.id }]);
    const viaApi = event({ event: "model.trained", related: [{ role: "flow-run", id: run.id, name: "e" }] });
    const res = await h.call("POST", "/api/batch", { batchId: newId(), ops: [{ kind: "event", event: viaApi, flowRunId: run.id }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const rows = await stored();
    expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(["data.arrived", "model.trained"]));
    expect(await index(Number(rows.find((r) => r.id === viaApi.id)!.seq))).toContainEqual({ resource_id: run.id, role: "flow-run" });
    const bad = await h.call("POST", "/api/batch", { ops: [{ kind: "event", event: { ...event(), event: "not a name" }, flowRunId: run.id }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/event/);
    const posing = await h.call("POST", "/api/batch", { ops: [{ kind: "event", event: event({ event: "baton.flow-run.Completed" }), flowRunId: run.id }] });
    expect(posing.status).toBe(400);
    expect(posing.body.error.message).toMatch(/body\.ops\.0\.event\.event: names under "baton\." are Baton's own/);
    const missing = await h.call("POST", "/api/batch", { ops: [{ kind: "event", event: event(), flowRunId: newId() }] });
    expect(missing.status).toBe(404);
  });
});
