/**
 * The dashboard's API on SQLite and PostgreSQL: GET /api/stats (runs per hour and state type,
 * success rate and nearest-rank duration percentiles per flow computed in SQL, late, crashed and
 * failed runs), GET /api/workers (status by the server's clock), and the `resource` events the
 * server publishes when deployments, pools, workers and limits change through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatonServer } from "../../src/server/app.ts";
import type { ResourceEvent } from "../../src/server/events.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState, type StateName } from "../../src/core/states.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";

const HOUR = 3600_000;

describe.each(DIALECTS)("dashboard API on %s", (dialect) => {
  let api: ApiHarness;
  let store: KyselyStore;
  let server: BatonServer;

  beforeAll(async () => {
    // Long service intervals: the test decides when runs become Late.
    api = await apiHarness(dialect, { schedulerMs: 600_000, crashCheckMs: 600_000 });
    ({ store, server } = api);
  });
  afterAll(() => api.close());

  const call = (method: "GET" | "POST", url: string, payload?: unknown) => api.call(method, url, payload);

  /** A finished run of `flowName` that ran `ms` milliseconds, created `ageMs` ago. */
  const finished = async (flowName: string, end: StateName, ms: number, ageMs = 0, message?: string) => {
    const id = newId();
    const t = Date.now() - ageMs;
    await store.createFlowRun({ id, flowName, name: `${flowName}-${id.slice(0, 6)}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await store.setFlowRunState(id, makeState("Running", { timestamp: t - ms }));
    const error = end === "Failed" ? { name: "Error", message: message ?? "it failed" } : null;
    await store.setFlowRunState(id, makeState(end, { timestamp: t, message: end === "Completed" ? null : (message ?? null) }), { error });
    await store.db.updateTable("flow_runs").set({ created_at: t - ms }).where("id", "=", id).execute();
    return id;
  };

  it("computes per-hour counts, success rates, p50/p95, late, crashed and failed runs in SQL", async () => {
    // etl: ten runs of 100..1,000 ms, two of them failed; three created two hours ago.
    for (let i = 1; i <= 10; i++) await finished("etl", i === 4 || i === 7 ? "Failed" : "Completed", i * 100, i <= 3 ? 2 * HOUR : 0, `etl broke at ${i}`);
    const crashedId = await finished("ml", "Crashed", 50, 0, "missed 3 heartbeats");
    // Outside a 24-hour window, inside a 48-hour one.
    await finished("old", "Completed", 10, 30 * HOUR);
    const lateId = newId();
    await store.createFlowRun({ id: lateId, flowName: "ml", name: "late-one", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, expectedStartTime: Date.now() - 60_000, state: makeState("Scheduled", { scheduledAt: Date.now() - 60_000 }) });
    expect(await new KyselyOrchestrationStore(store).markLateRuns(Date.now(), 15_000)).toEqual([lateId]);

    const { status, body } = await call("GET", "/api/stats");
    expect(status).toBe(200);
    expect(body.bucketMs).toBe(HOUR);
    expect(body.since % HOUR).toBe(0);
    expect(Math.floor((body.now - body.since) / HOUR)).toBe(23);
    const current = Math.floor((body.now - body.since) / HOUR);
    const count = (bucket: number, type: string) => body.runsByBucket.find((b: any) => b.bucket === bucket && b.stateType === type)?.count ?? 0;
    expect(count(current, "COMPLETED") + count(current - 1, "COMPLETED")).toBe(5); // etl 4..10 but the failed 4 and 7
    expect(count(current - 2, "COMPLETED") + count(current - 3, "COMPLETED")).toBe(3);
    expect(count(current, "FAILED") + count(current - 1, "FAILED")).toBe(2);
    expect(body.totals).toEqual({ runs: 12, failed: 2, crashed: 1, running: 0, late: 1 });

    const etl = body.flows.find((f: any) => f.flowName === "etl");
    // Nearest rank: p50 of ten = the 5th (500 ms), p95 = the 10th (1,000 ms).
    expect(etl).toEqual({ flowName: "etl", runs: 10, finished: 10, completed: 8, successRate: 0.8, p50Ms: 500, p95Ms: 1000 });
    const ml = body.flows.find((f: any) => f.flowName === "ml");
    expect(ml).toMatchObject({ runs: 2, finished: 1, completed: 0, successRate: 0, p50Ms: 50, p95Ms: 50 });
    expect(body.flows.some((f: any) => f.flowName === "old")).toBe(false);

    expect(body.late).toEqual([expect.objectContaining({ id: lateId, name: "late-one", flowName: "ml", stateName: "Late" })]);
    expect(body.late[0].at).toBeLessThan(Date.now() - 50_000);
    expect(body.crashed).toEqual([expect.objectContaining({ id: crashedId, flowName: "ml", stateName: "Crashed", message: "missed 3 heartbeats" })]);
    expect(body.failures.map((f: any) => f.message)).toEqual(["etl broke at 7", "etl broke at 4"]);

    const wide = await call("GET", "/api/stats?hours=48");
    expect(wide.body.flows.find((f: any) => f.flowName === "old")).toMatchObject({ runs: 1, p50Ms: 10 });
    expect(wide.body.totals.runs).toBe(13);
  });

  it("refuses a bad window with a message naming the field", async () => {
    for (const q of ["hours=0", "hours=169", "hours=abc", "days=2"]) {
      const { status, body } = await call("GET", `/api/stats?${q}`);
      expect(status, q).toBe(400);
      expect(body.error.message).toMatch(/querystring/);
    }
  });

  it("says which workers are online by the server's clock", async () => {
    const orchestration = new KyselyOrchestrationStore(store);
    await orchestration.upsertWorkPool({ name: "stats-pool" });
    await orchestration.registerWorker({ id: "w-fresh", name: "fresh", poolName: "stats-pool", runLimit: null });
    await orchestration.registerWorker({ id: "w-stale", name: "stale", poolName: "stats-pool", runLimit: 2 });
    await orchestration.heartbeatWorker("w-stale", Date.now() - 45_000);
    const { body } = await call("GET", "/api/workers");
    const byName = new Map(body.items.map((w: any) => [w.name, w]));
    expect(byName.get("fresh")).toMatchObject({ status: "online", heartbeatMs: 10_000, poolName: "stats-pool" });
    expect(byName.get("stale")).toMatchObject({ status: "offline", runLimit: 2 });
    expect((byName.get("stale") as any).ageMs).toBeGreaterThanOrEqual(45_000);
    expect((await call("GET", "/api/stats")).body.workers.map((w: any) => `${w.name}:${w.status}`).sort()).toEqual(["fresh:online", "stale:offline"]);
  });

  it("publishes resource events for changes made through the API, and none for refused requests", async () => {
    const seen: ResourceEvent[] = [];
    const forRun: unknown[] = [];
    const off = server.hub.subscribe({ flowRunId: null, send: (e) => e.kind === "resource" && seen.push(e) });
    const offRun = server.hub.subscribe({ flowRunId: newId(), send: (e) => forRun.push(e) });
    try {
      expect((await call("POST", "/api/work-pools", { name: "ev-pool" })).status).toBe(201);
      expect((await call("POST", "/api/work-pools/ev-pool/queues", { name: "fast", priority: 1 })).status).toBe(201);
      expect((await call("POST", "/api/deployments", { name: "ev-dep", flowName: "f", entrypoint: "/x.ts:f", workPool: "ev-pool" })).status).toBe(201);
      expect((await call("POST", "/api/deployments/ev-dep/pause")).status).toBe(200);
      expect((await call("POST", "/api/work-pools/ev-pool/workers", { id: "w-ev", name: "ev" })).status).toBe(201);
      expect((await call("POST", "/api/workers/w-ev/heartbeat")).status).toBe(204);
      expect((await call("POST", "/api/concurrency-limits", { name: "gpu", limit: 2 })).status).toBe(201);
      expect((await call("POST", "/api/concurrency-limits/acquire", { names: ["gpu"], holder: "h", slots: 1, ttlMs: 60_000 })).status).toBe(200);
      expect((await call("POST", "/api/concurrency-limits/gpu/reset")).status).toBe(200);
      expect((await call("POST", "/api/deployments/ev-dep/runs", {})).status).toBe(201);
      expect((await call("POST", "/api/deployments", { name: "bad name!", flowName: "f", entrypoint: "/x.ts:f" })).status).toBe(400);
      expect((await call("POST", "/api/concurrency-limits/nope/reset")).status).toBe(404);
    } finally {
      off();
      offRun();
    }
    expect(seen.map((e) => `${e.resource}:${e.name}`)).toEqual([
      "work-pools:null",
      "work-pools:ev-pool",
      "deployments:null",
      "deployments:ev-dep",
      "workers:null",
      "workers:w-ev",
      "concurrency-limits:null",
      "concurrency-limits:null",
      "concurrency-limits:gpu",
    ]);
    expect(forRun).toEqual([]);
  });
});
