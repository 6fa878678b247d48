/**
 * The API behind the dashboard's flows, deployment and worker pages, on SQLite and PostgreSQL:
 * flows with their figures (GET /api/stats/flows[/{name}]), a deployment's schedules one at a
 * time (list, add, change, delete, preview, with refusals naming the spec's field, the runs a
 * removed schedule made dropped, and the remote client doing the same), queues paused without
 * losing their settings and deleted (except the default and those deployments use), and a
 * worker with its status and the runs it claimed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import { RemoteOrchestrationStore } from "../../src/client/remote-orchestration.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState, type StateName } from "../../src/core/states.ts";
import { runSchedulerPass } from "../../src/services/scheduling.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { apiHarness, claimedFlowRun, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe.each(DIALECTS)("dashboard resources API on %s", (dialect) => {
  let api: ApiHarness;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;

  beforeAll(async () => {
    // The test runs the scheduler's pass itself.
    api = await apiHarness(dialect, { schedulerMs: 600_000, crashCheckMs: 600_000 });
    store = api.store;
    orchestration = new KyselyOrchestrationStore(store);
  });
  afterAll(() => api.close());

  const call = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown) => api.call(method, url, payload);

  /** A run of `flowName` that ended in `end` after `ms`, created `ageMs` ago. */
  const finished = async (flowName: string, end: StateName, ms: number, ageMs = 0) => {
    const id = newId();
    const t = Date.now() - ageMs;
    await store.createFlowRun({ id, flowName, name: `${flowName}-${id.slice(-6)}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await store.setFlowRunState(id, makeState("Running", { timestamp: t - ms }));
    await store.setFlowRunState(id, makeState(end, { timestamp: t }), { error: end === "Failed" ? { name: "Error", message: "no" } : null });
    await store.db.updateTable("flow_runs").set({ created_at: t - ms }).where("id", "=", id).execute();
    return id;
  };

  const deployment = (name: string, fields: Record<string, unknown> = {}) =>
    call("POST", "/api/deployments", { name, flowName: "etl", entrypoint: "/srv/etl.ts:etl", ...fields }).then((r) => {
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(202);
      return r.body as { id: string; name: string; schedules: { id: string }[] };
    });

  it("lists flows with runs and success rate in the window, newest run and deployments; a flow's page adds percentiles, durations and the parameter schema", async () => {
    // etl: five runs of 100..500 ms in the window, one failed; one older run outside a day.
    for (let i = 1; i <= 5; i++) await finished("etl", i === 2 ? "Failed" : "Completed", i * 100, i * 1000);
    const old = await finished("etl", "Completed", 900, 3 * DAY);
    await finished("dormant", "Crashed", 50, 10 * DAY);
    await store.upsertFlow({ name: "never-ran", description: "registered only", tags: ["x"] });
    await deployment("etl-first", { parameterSchema: { type: "object", properties: { a: { type: "integer" } } } });
    await new Promise((r) => setTimeout(r, 5));
    await deployment("etl-second", { parameterSchema: { type: "object", properties: { b: { type: "string", description: "newer" } }, required: ["b"] }, parameters: { b: "x" } });

    const day = await call("GET", "/api/stats/flows?hours=24");
    expect(day.status).toBe(200);
    const byName = Object.fromEntries(day.body.items.map((f: any) => [f.flow.name, f]));
    expect(day.body.items.map((f: any) => f.flow.name)).toEqual(["dormant", "etl", "never-ran"]);
    expect(byName.etl).toMatchObject({ runs: 5, finished: 5, completed: 4, successRate: 0.8, deployments: ["etl-first", "etl-second"] });
    expect(byName.etl.lastRun).toMatchObject({ stateType: "COMPLETED", stateName: "Completed" });
    expect(byName.etl.lastRun.createdAt).toBeGreaterThan(Date.now() - 60_000);
    // No run in the window: zero runs, no rate, but its newest run of any time.
    expect(byName.dormant).toMatchObject({ runs: 0, finished: 0, successRate: null, lastRun: { stateName: "Crashed" }, deployments: [] });
    expect(byName["never-ran"]).toMatchObject({ runs: 0, lastRun: null, flow: { description: "registered only", tags: ["x"] } });
    // A longer window takes the older run.
    const week = await call("GET", "/api/stats/flows?hours=168");
    expect(week.body.items.find((f: any) => f.flow.name === "etl")).toMatchObject({ runs: 6, completed: 5 });
    expect(week.body.since).toBeLessThanOrEqual(Date.now() - 168 * HOUR + 1000);

    const page = await call("GET", "/api/stats/flows/etl?hours=24");
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ runs: 5, completed: 4, successRate: 0.8, p50Ms: 300, p95Ms: 500, parameterSchemaFrom: "etl-second" });
    expect(page.body.parameterSchema.required).toEqual(["b"]);
    expect(page.body.deployments.map((d: any) => d.name)).toEqual(["etl-first", "etl-second"]);
    // Durations of any time, oldest first: the three-day-old run leads.
    expect(page.body.durations).toHaveLength(6);
    expect(page.body.durations[0]).toMatchObject({ id: old, durationMs: 900, stateType: "COMPLETED" });
    expect(page.body.durations.map((d: any) => d.startTime)).toEqual([...page.body.durations.map((d: any) => d.startTime)].sort((a, b) => a - b));
    // By id as well as by name; a flow without deployments has no schema.
    expect((await call("GET", `/api/stats/flows/${byName.dormant.flow.id}`)).body).toMatchObject({ runs: 0, p50Ms: null, parameterSchema: null, parameterSchemaFrom: null, deployments: [] });
    expectError(await call("GET", "/api/stats/flows/no-such-flow"), 404, /flow no-such-flow/);
    expectError(await call("GET", "/api/stats/flows?hours=0"), 400, /querystring\.hours/);
  });

  it("adds, lists, changes, pauses and deletes one schedule at a time, refusing a bad spec at its field", async () => {
    await deployment("sched", { schedules: [{ spec: { kind: "interval", intervalMs: 3600_000 } }] });
    const added = await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "cron", cron: "30 9 * * 1", timezone: "Europe/Berlin" } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ spec: { kind: "cron", cron: "30 9 * * 1", timezone: "Europe/Berlin" }, active: true, id: expect.any(String) });

    expectError(await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "cron", cron: "61 * * * *" } }), 400, /^body\.spec\.cron "61 \* \* \* \*" is invalid/);
    expectError(await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "cron", cron: "0 9 * * *", timezone: "Mars/Olympus" } }), 400, /^body\.spec\.timezone "Mars\/Olympus" is not a known IANA time zone/);
    expectError(await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "interval", intervalMs: 10 } }), 400, /^body\.spec\.intervalMs must be an integer >= 1000/);
    expectError(await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "weekly" } }), 400, /^body\.spec\.kind must be one of cron, interval, rrule/);
    expectError(await call("POST", "/api/deployments/sched/schedules", { spec: { kind: "cron", cron: "0 9 * * *" }, extra: 1 }), 400, /body/);
    expectError(await call("POST", "/api/deployments/nope/schedules", { spec: { kind: "cron", cron: "0 9 * * *" } }), 404, /deployment "nope" does not exist/);

    const listed = await call("GET", "/api/deployments/sched/schedules");
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((s: any) => s.description)).toEqual(["every 1 h", "cron 30 9 * * 1 (Europe/Berlin)"]);
    const cron = listed.body.items[1];
    expect(cron.next).toHaveLength(5);
    // Mondays 09:30 in Berlin, a week apart (no daylight-saving change is more than a week long).
    for (const t of cron.next) expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", weekday: "short", hour: "2-digit", minute: "2-digit" }).format(t)).toBe("Mon 09:30");

    const changed = await call("PUT", `/api/deployments/sched/schedules/${cron.id}`, { spec: { kind: "rrule", rrule: "FREQ=DAILY;BYHOUR=6;BYMINUTE=0", timezone: "UTC" }, active: false });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: cron.id, spec: { kind: "rrule" }, active: false });
    expectError(await call("PUT", `/api/deployments/sched/schedules/${cron.id}`, { spec: { kind: "rrule", rrule: "FREQ=SOMETIMES" } }), 400, /^body\.spec\.rrule "FREQ=SOMETIMES" is invalid/);
    expectError(await call("PUT", "/api/deployments/sched/schedules/no-such-id", { spec: { kind: "cron", cron: "0 9 * * *" } }), 404, /deployment "sched" has no schedule no-such-id/);
    // Without `active`, a change keeps the pause state.
    expect((await call("PUT", `/api/deployments/sched/schedules/${cron.id}`, { spec: { kind: "cron", cron: "0 6 * * *" } })).body.active).toBe(false);
    expect((await call("POST", `/api/deployments/sched/schedules/${cron.id}/resume`)).status).toBe(200);
    expect((await call("GET", "/api/deployments/sched")).body.schedules.map((s: any) => [s.spec.kind, s.active])).toEqual([
      ["interval", true],
      ["cron", true],
    ]);

    expect((await call("DELETE", `/api/deployments/sched/schedules/${cron.id}`)).status).toBe(204);
    expectError(await call("DELETE", `/api/deployments/sched/schedules/${cron.id}`), 404, /has no schedule/);
    expect((await call("GET", "/api/deployments/sched/schedules")).body.items.map((s: any) => s.description)).toEqual(["every 1 h"]);

    // Each change is an event of the deployment, in the transaction of the change.
    const events = await call("GET", `/api/events?resource=${(await call("GET", "/api/deployments/sched")).body.id}&event=baton.deployment.updated&limit=10`);
    expect(events.body.items.map((e: any) => e.payload.schedule?.change).filter(Boolean)).toEqual(expect.arrayContaining(["added", "updated", "deleted"]));
  });

  it("drops the future runs of a deleted schedule, and refuses a 21st", async () => {
    const d = await deployment("many", { schedules: [{ spec: { kind: "interval", intervalMs: 60_000 } }] });
    const options = { scheduleHorizonMs: 10 * 60_000, scheduleMaxRuns: 5, lateAfterMs: 60_000, deployment: "many" };
    expect((await runSchedulerPass(orchestration, options)).created).toBe(5);
    expect((await call("GET", `/api/flow-runs?deployment=${d.id}`)).body.items).toHaveLength(5);
    expect((await call("DELETE", `/api/deployments/many/schedules/${d.schedules[0]!.id}`)).status).toBe(204);
    expect((await call("GET", `/api/flow-runs?deployment=${d.id}`)).body.items).toHaveLength(0);
    for (let i = 0; i < 20; i++) expect((await call("POST", "/api/deployments/many/schedules", { spec: { kind: "interval", intervalMs: 60_000 * (i + 1) }, active: false })).status).toBe(201);
    expectError(await call("POST", "/api/deployments/many/schedules", { spec: { kind: "cron", cron: "0 9 * * *" } }), 409, /has 20 schedules already, the most it may have: delete one first/);
    // Inactive ones made no runs.
    expect((await runSchedulerPass(orchestration, options)).created).toBe(0);
  });

  it("previews a spec's next run times without storing anything", async () => {
    const after = Date.UTC(2026, 2, 27, 12); // Friday 2026-03-27, before Europe's spring-forward
    const preview = await call("POST", "/api/schedules/preview", { spec: { kind: "cron", cron: "0 9 * * *", timezone: "Europe/Berlin" }, after, count: 3 });
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      spec: { kind: "cron", cron: "0 9 * * *", timezone: "Europe/Berlin" },
      description: "cron 0 9 * * * (Europe/Berlin)",
      // 09:00 in Berlin is 08:00 UTC before the change, 07:00 after it.
      next: [Date.UTC(2026, 2, 28, 8), Date.UTC(2026, 2, 29, 7), Date.UTC(2026, 2, 30, 7)],
    });
    const interval = await call("POST", "/api/schedules/preview", { spec: { kind: "interval", intervalMs: 900_000, anchor: "2026-01-01T00:05:00Z" }, after });
    expect(interval.body.next).toEqual([1, 2, 3, 4, 5].map((i) => after + 5 * 60_000 + (i - 1) * 900_000));
    expect(interval.body.spec.anchor).toBe(Date.UTC(2026, 0, 1, 0, 5));
    expectError(await call("POST", "/api/schedules/preview", { spec: { kind: "cron", cron: "banana" } }), 400, /^body\.spec\.cron "banana" is invalid/);
    expectError(await call("POST", "/api/schedules/preview", { spec: { kind: "interval", intervalMs: 1000, anchor: "soon" } }), 400, /^body\.spec\.anchor must be epoch milliseconds or an ISO 8601 date/);
    expectError(await call("POST", "/api/schedules/preview", { spec: { kind: "cron", cron: "0 9 * * *" }, count: 51 }), 400, /body\.count/);
    expectError(await call("POST", "/api/schedules/preview", {}), 400, /body.*spec/);
    // A schedule with no slot to come answers none.
    expect((await call("POST", "/api/schedules/preview", { spec: { kind: "rrule", rrule: "DTSTART:20200101T000000Z\nRRULE:FREQ=DAILY;COUNT=2" } })).body.next).toEqual([]);
  });

  it("pauses a queue keeping its priority and limit, and deletes queues but the default and those deployments use", async () => {
    expect((await call("POST", "/api/work-pools", { name: "qpool" })).status).toBe(201);
    expect((await call("POST", "/api/work-pools/qpool/queues", { name: "fast", priority: 2, concurrencyLimit: 4 })).status).toBe(201);
    const paused = await call("POST", "/api/work-pools/qpool/queues", { name: "fast", paused: true });
    expect(paused.body).toEqual({ poolName: "qpool", name: "fast", priority: 2, concurrencyLimit: 4, paused: true });
    expect((await call("POST", "/api/work-pools/qpool/queues", { name: "fast", concurrencyLimit: null })).body).toMatchObject({ priority: 2, concurrencyLimit: null, paused: true });
    expect((await call("POST", "/api/work-pools/qpool/queues", { name: "fast", paused: false })).body.paused).toBe(false);

    expectError(await call("DELETE", "/api/work-pools/qpool/queues/default"), 409, /the default queue of work pool "qpool" cannot be deleted/);
    await deployment("uses-fast", { workPool: "qpool", workQueue: "fast" });
    expectError(await call("DELETE", "/api/work-pools/qpool/queues/fast"), 409, /queue "fast" of work pool "qpool" is used by deployment\(s\) "uses-fast": give them another queue first/);
    expectError(await call("DELETE", "/api/work-pools/qpool/queues/slow"), 404, /work pool "qpool" has no queue "slow"/);
    expectError(await call("DELETE", "/api/work-pools/nopool/queues/fast"), 404, /work pool "nopool" has no queue "fast"/);
    await deployment("uses-fast", { workPool: "qpool", workQueue: "default" });
    expect((await call("DELETE", "/api/work-pools/qpool/queues/fast")).status).toBe(204);
    expect((await call("GET", "/api/work-pools/qpool")).body.queues.map((q: any) => q.name)).toEqual(["default"]);
    const events = await call("GET", "/api/events?resource=qpool/fast&limit=10");
    expect(events.body.items.map((e: any) => e.event)).toContain("baton.work-queue.deleted");
  });

  it("answers a worker with its status and lists the runs it claimed", async () => {
    const run = await claimedFlowRun(store, "claimed-flow", "w-page-1");
    await call("POST", "/api/work-pools/qpool/workers", { id: "w-page-1", name: "host-a", heartbeatMs: 2000 });
    const worker = await call("GET", "/api/workers/w-page-1");
    expect(worker.status).toBe(200);
    expect(worker.body).toMatchObject({ id: "w-page-1", name: "host-a", poolName: "qpool", status: "online", heartbeatMs: 2000, intervalMs: 2000 });
    expect(worker.body.ageMs).toBeLessThan(2000);
    await store.db.updateTable("workers").set({ heartbeat_at: Date.now() - 7000 }).where("id", "=", "w-page-1").execute();
    expect((await call("GET", "/api/workers/w-page-1")).body).toMatchObject({ status: "offline", ageMs: expect.any(Number) });
    expectError(await call("GET", "/api/workers/nobody"), 404, /worker nobody/);
    const runs = await call("GET", "/api/flow-runs?worker=w-page-1");
    expect(runs.body.items.map((r: any) => r.id)).toEqual([run.id]);
    expect((await call("GET", "/api/flow-runs?worker=someone-else")).body.items).toEqual([]);
  });

  it("does the same through the remote client the CLI and workers use", async () => {
    const address = await api.server.app.listen({ host: "127.0.0.1", port: 0 });
    const remote = new RemoteOrchestrationStore(new ApiClient({ baseUrl: `${address}/api` }));
    await deployment("remote-sched");
    const added = await remote.addSchedule("remote-sched", { spec: { kind: "cron", cron: "0 3 * * *", timezone: "UTC" }, active: true });
    expect(added).toMatchObject({ spec: { cron: "0 3 * * *" }, active: true });
    expect(await remote.updateSchedule("remote-sched", added!.id, { spec: { kind: "cron", cron: "0 4 * * *", timezone: "UTC" } })).toMatchObject({ spec: { cron: "0 4 * * *" } });
    expect(await remote.updateSchedule("remote-sched", "missing", { spec: { kind: "cron", cron: "0 4 * * *" } })).toBeUndefined();
    expect(await remote.addSchedule("no-such-deployment", { spec: { kind: "cron", cron: "0 4 * * *" }, active: true })).toBeUndefined();
    expect(await remote.deleteSchedule("remote-sched", added!.id)).toBe(true);
    expect(await remote.deleteSchedule("remote-sched", added!.id)).toBe(false);
    await remote.upsertWorkQueue({ poolName: "qpool", name: "remote-q" });
    expect(await remote.deleteWorkQueue("qpool", "remote-q")).toBe(true);
    expect(await remote.deleteWorkQueue("qpool", "remote-q")).toBe(false);
    expect(await remote.getWorker("w-page-1")).toMatchObject({ name: "host-a", poolName: "qpool" });
    expect(await remote.getWorker("nobody")).toBeUndefined();
  });
});
