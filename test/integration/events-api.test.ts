/**
 * The event log's read side through the API, on SQLite and PostgreSQL: GET /api/events filters
 * by pattern, resource, related resource and time, pages with a cursor both ways, and names the
 * parameter of a bad request; POST /api/events fills defaults, refuses Baton's own names and
 * worker keys; the stream delivers new events at once and resumes from any message's id with
 * nothing missed or repeated — on PostgreSQL, events that commit out of seq order included;
 * retention deletes old events with their index rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { newId } from "../../src/core/ids.ts";
import type { EventRecord, NewEvent } from "../../src/core/event-records.ts";
import { appendEvents } from "../../src/store/transitions/event-log.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { openSse } from "../support/sse.ts";
import { until } from "../support/processes.ts";

const event = (fields: Partial<NewEvent> = {}): NewEvent => ({
  id: newId(),
  occurred: Date.now(),
  event: "data.arrived",
  resource: { id: "s3://bucket/a.csv", name: "a.csv" },
  related: [],
  payload: {},
  ...fields,
});

describe.each(DIALECTS)("events API on %s", (dialect) => {
  let h: ApiHarness;
  let base: string;
  beforeAll(async () => {
    h = await apiHarness(dialect, { apiKeys: ["admin:admin-key", "worker:worker-key"] });
    base = await h.server.app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(() => h.close());

  const admin = { authorization: "Bearer admin-key" };
  const list = (query: string) => h.call("GET", `/api/events?${query}`, undefined, admin);
  const names = (res: { body: { items: EventRecord[] } }) => res.body.items.map((e) => e.payload.n);

  it("filters by pattern, resource, related resource and time, newest first, with cursor pages both ways", async () => {
    // Recent: the server's retention deletes events older than 7 days.
    const t0 = Date.now() - 60_000;
    const run = newId();
    await h.store.transaction((tx) =>
      appendEvents(tx, h.store, [
        event({ event: "baton.flow-run.Running", occurred: t0, resource: { id: run }, related: [{ role: "flow", id: "f1" }], payload: { n: 1 } }),
        event({ event: "baton.flow-run.Completed", occurred: t0 + 1000, resource: { id: run }, related: [{ role: "flow", id: "f1" }], payload: { n: 2 } }),
        event({ event: "baton.task-run.Failed", occurred: t0 + 2000, resource: { id: newId() }, related: [{ role: "flow-run", id: run }], payload: { n: 3 } }),
        event({ event: "data.arrived", occurred: t0 + 3000, resource: { id: "s3://b/k_1" }, related: [{ role: "tag", id: run }], payload: { n: 4 } }),
        event({ event: "data_x.arrived", occurred: t0 + 4000, resource: { id: "other" }, payload: { n: 5 } }),
      ]),
    );
    const window = `since=${t0}&until=${t0 + 5000}`;
    expect(names(await list(window))).toEqual([5, 4, 3, 2, 1]);
    expect(names(await list(`${window}&event=baton.flow-run.*`))).toEqual([2, 1]);
    expect(names(await list(`${window}&event=baton.flow-run.Completed,data.*`))).toEqual([4, 2]);
    // `_` is a name character, not LIKE's wildcard.
    expect(names(await list(`${window}&event=data_*`))).toEqual([5]);
    expect(names(await list(`${window}&event=*`))).toHaveLength(5);
    expect(names(await list(`${window}&resource=${run}`))).toEqual([2, 1]);
    // Related in any role: a task run's flow run, a tag.
    expect(names(await list(`${window}&related=${run}`))).toEqual([4, 3]);
    // About it or related to it: a run's page shows both.
    expect(names(await list(`${window}&involves=${run}`))).toEqual([4, 3, 2, 1]);
    expect(names(await list(`since=${t0 + 1000}&until=${t0 + 3000}`))).toEqual([3, 2]);
    const first = await list(`${window}&limit=2`);
    expect(names(first)).toEqual([5, 4]);
    const second = await list(`${window}&limit=2&cursor=${first.body.nextCursor}`);
    expect(names(second)).toEqual([3, 2]);
    const third = await list(`${window}&limit=2&cursor=${second.body.nextCursor}`);
    expect(names(third)).toEqual([1]);
    expect(third.body.nextCursor).toBeNull();
    const oldest = await list(`${window}&limit=3&order=oldest`);
    expect(names(oldest)).toEqual([1, 2, 3]);
    expect(names(await list(`${window}&order=oldest&cursor=${oldest.body.nextCursor}`))).toEqual([4, 5]);
    const one = first.body.items[0] as EventRecord;
    expect(one).toMatchObject({ seq: expect.any(Number), received: expect.any(Number), event: "data_x.arrived", resource: { id: "other" }, related: [] });
  });

  it("answers a bad filter with a 400 naming the parameter", async () => {
    expectError(await list("event=data..arrived"), 400, /querystring\.event: "data\.\.arrived" is not an event pattern/);
    expectError(await list("event=a*b"), 400, /querystring\.event/);
    expectError(await list("flowRun=x"), 400, /unknown field "flowRun"/);
    expectError(await list("cursor=bm9wZQ"), 400, /querystring\.cursor: invalid cursor/);
    expectError(await list("since=yesterday"), 400, /querystring\.since must be integer/);
    expectError(await list("since=20&until=10"), 400, /querystring\.until \(10\) must be after querystring\.since/);
    expectError(await list("limit=0"), 400, /querystring\.limit/);
  });

  it("stores events posted from outside a run, filling id, time, related and payload; once per id", async () => {
    const given = newId();
    const before = Date.now();
    const res = await h.call("POST", "/api/events", [{ event: "model.trained", resource: { id: "model-7" } }, { id: given, occurred: before - 5, event: "model.trained", resource: { id: "model-7" }, payload: { acc: 0.9 } }], admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.ids).toHaveLength(2);
    expect(res.body.ids[1]).toBe(given);
    expect((await h.call("POST", "/api/events", [{ id: given, event: "model.trained", resource: { id: "model-7" } }], admin)).status).toBe(201);
    const stored = (await list("resource=model-7&order=oldest")).body.items as EventRecord[];
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({ id: res.body.ids[0], related: [], payload: {} });
    expect(stored[0]!.occurred).toBeGreaterThanOrEqual(before);
    expect(stored[1]).toMatchObject({ id: given, occurred: before - 5, payload: { acc: 0.9 } });
  });

  it("refuses Baton's own names, invalid events and worker keys on POST /api/events, storing nothing of the request", async () => {
    const ok = { event: "ok.event", resource: { id: "refused-batch" } };
    expectError(await h.call("POST", "/api/events", [ok, { event: "baton.flow-run.Failed", resource: { id: "x" } }], admin), 400, /body\[1\]\.event: names under "baton\." are Baton's own/);
    expectError(await h.call("POST", "/api/events", [ok, { event: "no spaces", resource: { id: "x" } }], admin), 400, /body\.1\.event must match pattern/);
    expectError(await h.call("POST", "/api/events", [ok, { event: "x.y" }], admin), 400, /body\.1\.resource is required/);
    expectError(await h.call("POST", "/api/events", [ok], { authorization: "Bearer worker-key" }), 403, /needs an admin or developer API key/);
    expect((await list("resource=refused-batch")).body.items).toEqual([]);
  });

  it("streams new events at once, filtered, and resumes from any message's id with nothing missed or repeated", async () => {
    const resource = `stream-${dialect}`;
    const stream = await openSse(`${base}/api/events/stream?resource=${resource}&event=s.*`, admin);
    expect(stream.status).toBe(200);
    await until(() => stream.lastId(), "the connected message's id");
    const started = Date.now();
    await h.store.emitEvents([event({ event: "s.one", resource: { id: resource } })]);
    const [firstMessage] = await stream.waitFor(1, 5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(firstMessage!.event).toBe("event");
    expect(JSON.parse(firstMessage!.data!)).toMatchObject({ event: "s.one", resource: { id: resource } });
    // Left out by the filter: not delivered, but the position moves past it.
    await h.store.emitEvents([event({ event: "other.one", resource: { id: resource } }), event({ event: "s.two", resource: { id: "elsewhere" } })]);
    await h.store.emitEvents([event({ event: "s.two", resource: { id: resource } })]);
    await stream.waitFor(2);
    const resumeFrom = stream.messages[0]!.id!;
    stream.close();
    await h.store.emitEvents([event({ event: "s.three", resource: { id: resource } })]);
    // Resuming after the first message: the second (delivered before, lost to this client) and
    // the third (committed while away), each once.
    const resumed = await openSse(`${base}/api/events/stream?resource=${resource}&event=s.*`, { ...admin, "last-event-id": resumeFrom });
    await resumed.waitFor(2);
    await new Promise((r) => setTimeout(r, 400));
    expect(resumed.messages.map((m) => (JSON.parse(m.data!) as EventRecord).event)).toEqual(["s.two", "s.three"]);
    resumed.close();
    const bad = await openSse(`${base}/api/events/stream`, { ...admin, "last-event-id": "12.40" });
    expect(bad.status).toBe(400);
    const badFilter = await openSse(`${base}/api/events/stream?event=x..y`, admin);
    expect(badFilter.status).toBe(400);
  });

  it.runIf(dialect === "postgres")("delivers an event whose transaction took a lower seq but committed later, once, to live and resuming readers", async () => {
    const resource = "out-of-order";
    const stream = await openSse(`${base}/api/events/stream?resource=${resource}`, admin);
    await until(() => stream.lastId(), "the connected message's id");
    const late = new pg.Client(h.url);
    await late.connect();
    let afterEarly: string;
    try {
      await late.query("begin");
      // Takes its seq now, commits after the next event's transaction.
      await late.query("insert into events (id, occurred, received, event, resource_id, resource, related, payload) values ($1, $2, $2, 'order.late', $3, $4, '[]', '{}')", [
        newId(),
        Date.now(),
        resource,
        JSON.stringify({ id: resource }),
      ]);
      await h.store.emitEvents([event({ event: "order.early", resource: { id: resource } })]);
      const [early] = await stream.waitFor(1);
      afterEarly = early!.id!;
      expect(JSON.parse(early!.data!).event).toBe("order.early");
      await late.query("commit");
    } finally {
      await late.end();
    }
    await stream.waitFor(2);
    const delivered = stream.messages.map((m) => JSON.parse(m.data!) as EventRecord);
    expect(delivered.map((e) => e.event)).toEqual(["order.early", "order.late"]);
    expect(delivered[1]!.seq).toBeLessThan(delivered[0]!.seq);
    stream.close();
    // A client that had only the early event resumes with its token: the late one, once.
    const resumed = await openSse(`${base}/api/events/stream?resource=${resource}`, { ...admin, "last-event-id": afterEarly });
    await resumed.waitFor(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(resumed.messages.map((m) => (JSON.parse(m.data!) as EventRecord).event)).toEqual(["order.late"]);
    resumed.close();
  });

  it("deletes events that occurred before the retention limit, with their index rows", async () => {
    const old = event({ occurred: 1000, resource: { id: "retired" }, related: [{ role: "tag", id: "retired-tag" }] });
    await h.store.emitEvents([old, event({ resource: { id: "retired" } })]);
    expect(await h.store.deleteEventsBefore(2000)).toBeGreaterThanOrEqual(1);
    expect((await list("resource=retired")).body.items).toHaveLength(1);
    const index = await h.store.db.selectFrom("event_resources").select("resource_id").where("resource_id", "=", "retired-tag").execute();
    expect(index).toEqual([]);
  });
});
