/**
 * Deployments, work pools, claims and limits through the REST API (and the remote client the
 * workers use), on SQLite and PostgreSQL. A bad parameter is refused when the run is created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { buildServer, type BatonServer } from "../../src/server/app.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { parameterJsonSchema } from "../../src/sdk/serve.ts";
import { ApiClient } from "../../src/client/api-client.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { RemoteOrchestrationStore } from "../../src/client/remote-orchestration.ts";
import { Worker } from "../../src/worker/worker.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { until } from "../support/processes.ts";

describe.each(DIALECTS)("orchestration API on %s", (dialect) => {
  let store: KyselyStore;
  let server: BatonServer;
  let cleanup: () => Promise<void>;
  let address: string;
  let dbUrl: string;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    dbUrl = db.url;
    store = await openStore(db.url);
    server = await buildServer({ store, schedulerMs: 60_000, crashCheckMs: 200 });
    address = await server.app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await cleanup();
  });

  const call = async (method: string, url: string, payload?: unknown) => {
    const r = await server.app.inject({ method: method as "GET", url, payload: payload as string });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as any) : undefined };
  };

  const schema = parameterJsonSchema(z.object({ seed: z.number().int(), depths: z.array(z.number().int().positive()).default([2]) }));

  it("creates pools and deployments, validating every field", async () => {
    expect((await call("POST", "/api/work-pools", { name: "api-pool" })).body.queues.map((q: any) => q.name)).toEqual(["default"]);
    expect((await call("POST", "/api/work-pools/api-pool/queues", { name: "urgent", priority: 1, concurrencyLimit: 2 })).status).toBe(201);
    const bad = await call("POST", "/api/deployments", { name: "d1", flowName: "f", entrypoint: "/x.ts:f", workPool: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/work pool "nope" does not exist/);
    const badSchedule = await call("POST", "/api/deployments", { name: "d1", flowName: "f", entrypoint: "/x.ts:f", schedules: [{ spec: { kind: "cron", cron: "99 * * * *" } }] });
    expect(badSchedule.status).toBe(400);
    expect(badSchedule.body.error.message).toMatch(/body\.schedules\[0\]: schedule\.cron "99 \* \* \* \*" is invalid/);
    const badDefaults = await call("POST", "/api/deployments", { name: "d1", flowName: "f", entrypoint: "/x.ts:f", parameterSchema: schema, parameters: { seed: "x" } });
    expect(badDefaults.status).toBe(400);
    expect(badDefaults.body.error.message).toMatch(/parameters\.seed must be integer/);
    const created = await call("POST", "/api/deployments", {
      name: "train-nightly",
      flowName: "train",
      entrypoint: "/srv/flows/train.ts:train",
      parameterSchema: schema,
      parameters: { seed: 1 },
      workPool: "api-pool",
      workQueue: "urgent",
      schedules: [{ spec: { kind: "cron", cron: "0 3 * * *", timezone: "Europe/Berlin" } }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "train-nightly", workPool: "api-pool", schedules: [{ spec: { kind: "cron", cron: "0 3 * * *", timezone: "Europe/Berlin" }, active: true }] });
    expect((await call("GET", "/api/deployments")).body.items.map((d: any) => d.name)).toContain("train-nightly");
    expect((await call("GET", "/api/deployments/nope")).status).toBe(404);
  });

  it("changes some of a deployment's own fields with PATCH, keeping its schedules, pool and pause; bad fields are named", async () => {
    const before = (await call("GET", "/api/deployments/train-nightly")).body;
    const patched = await call("PATCH", "/api/deployments/train-nightly", { description: "nightly training", tags: ["ml", "nightly"], concurrencyLimit: 2, collisionStrategy: "cancel-new", retries: 3, retryDelayMs: 5000 });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ id: before.id, description: "nightly training", tags: ["ml", "nightly"], concurrencyLimit: 2, collisionStrategy: "cancel-new", retries: 3, retryDelayMs: 5000 });
    // What it runs, where, and when stays as it was.
    expect(patched.body).toMatchObject({ flowName: "train", entrypoint: before.entrypoint, workPool: "api-pool", workQueue: "urgent", parameters: before.parameters, paused: before.paused });
    expect(patched.body.schedules.map((s: any) => s.id)).toEqual(before.schedules.map((s: any) => s.id));
    // Back to no limit, defaults changed within the schema; the rest untouched.
    const again = await call("PATCH", "/api/deployments/train-nightly", { concurrencyLimit: null, parameters: { seed: 1 } });
    expect(again.body).toMatchObject({ concurrencyLimit: null, retries: 3, description: "nightly training" });

    expect(await call("PATCH", "/api/deployments/train-nightly", { parameters: { seed: "x" } })).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/parameters\.seed must be integer/) } } });
    expect(await call("PATCH", "/api/deployments/train-nightly", { retries: -1 })).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/body\.retries/) } } });
    expect(await call("PATCH", "/api/deployments/train-nightly", { flowName: "other" })).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/flowName/) } } });
    expect((await call("PATCH", "/api/deployments/train-nightly", {})).status).toBe(400);
    expect((await call("PATCH", "/api/deployments/nope", { retries: 1 })).status).toBe(404);
    // As it was, for the tests below.
    await call("PATCH", "/api/deployments/train-nightly", { description: null, tags: [], concurrencyLimit: null, collisionStrategy: "enqueue", retries: 0, retryDelayMs: 0 });
  });

  it("finds task runs by an id prefix (GET /api/task-runs), refusing a prefix that is not hex", async () => {
    expect(await call("GET", "/api/task-runs?idPrefix=zz-not-hex")).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/idPrefix/) } } });
    expect(await call("GET", "/api/task-runs?idPrefix=0000&limit=0")).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/limit/) } } });
    expect(await call("GET", "/api/task-runs?idPrefix=ffff-ffff")).toMatchObject({ status: 200, body: { items: [] } });
  });

  it("refuses a run with a bad parameter (4xx naming the field) and creates a good one", async () => {
    const bad = await call("POST", "/api/deployments/train-nightly/runs", { parameters: { seed: 1.5, depths: [0] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_PARAMETERS");
    expect(bad.body.error.message).toMatch(/parameters\.seed must be integer/);
    expect(bad.body.error.message).toMatch(/parameters\.depths\.0 must be > 0|parameters\.depths\.0 must be >= 1/);
    const good = await call("POST", "/api/deployments/train-nightly/runs", { parameters: { depths: [3] } });
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    expect(good.body).toMatchObject({ state: { name: "Scheduled" }, parameters: { seed: 1, depths: [3] }, workPool: "api-pool", workQueue: "urgent" });
    expect((await call("POST", "/api/deployments/train-nightly/runs", { parameters: { seed: 2 }, bogus: 1 })).status).toBe(400);
  });

  it("checks the parameters of a deployment's run made through POST /api/flow-runs too", async () => {
    const dep = (await call("GET", "/api/deployments/train-nightly")).body;
    const base = { flowName: "train", deploymentId: dep.id, workPool: "api-pool", workQueue: "urgent", state: "Scheduled", scheduledAt: Date.now() + 3600_000 };
    const bad = await call("POST", "/api/flow-runs", { ...base, parameters: { seed: "one" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "INVALID_PARAMETERS" });
    expect(bad.body.error.message).toMatch(/parameters\.seed must be integer/);
    const unknown = await call("POST", "/api/flow-runs", { ...base, deploymentId: "no-such-deployment" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/body\.deploymentId: deployment no-such-deployment was not found/);
    const good = await call("POST", "/api/flow-runs", { ...base, parameters: { depths: [4] } });
    expect(good.status).toBe(201);
    expect(good.body.parameters).toEqual({ seed: 1, depths: [4] }); // the deployment's defaults under the run's
    expect((await call("DELETE", `/api/flow-runs/${good.body.id}`)).status).toBe(204);
  });

  it("hands a due run to one worker through the API, never twice", async () => {
    const first = await call("POST", "/api/work-pools/api-pool/claim", { workerId: "w1", max: 5 });
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ state: { name: "Pending" }, workerId: "w1" });
    expect((await call("POST", "/api/work-pools/api-pool/claim", { workerId: "w2", max: 5 })).body.items).toHaveLength(0);
    expect((await call("POST", "/api/work-pools/api-pool/claim", { workerId: "w2", max: 0 })).status).toBe(400);
    expect((await call("POST", "/api/deployments/train-nightly/pause")).body.paused).toBe(true);
    await call("POST", "/api/deployments/train-nightly/runs", {});
    expect((await call("POST", "/api/work-pools/api-pool/claim", { workerId: "w2", max: 5 })).body.items).toHaveLength(0);
    expect((await call("POST", "/api/deployments/train-nightly/resume")).body.paused).toBe(false);
    expect((await call("POST", "/api/work-pools/api-pool/claim", { workerId: "w2", max: 5 })).body.items).toHaveLength(1);
  });

  it("runs a remote worker's claims through the API client", async () => {
    await call("POST", "/api/work-pools", { name: "remote-pool" });
    await call("POST", "/api/deployments", { name: "remote-dep", flowName: "rf", entrypoint: "/x.ts:rf", workPool: "remote-pool" });
    for (let i = 0; i < 10; i++) await call("POST", "/api/deployments/remote-dep/runs", {});
    const api = new ApiClient({ baseUrl: `${address}/api` });
    const remoteStore = new RemoteStore(api);
    const seen: string[] = [];
    const worker = new Worker(remoteStore, new RemoteOrchestrationStore(api), {
      pool: "remote-pool",
      limit: 3,
      pollMs: 20,
      runEnv: {},
      log: () => undefined,
      infrastructure: {
        type: "process",
        start: (id) => {
          seen.push(id);
          const exited = (async () => {
            await remoteStore.setFlowRunState(id, makeState("Running"));
            await remoteStore.setFlowRunState(id, makeState("Completed"));
            return 0;
          })();
          return { exited, stop: () => undefined, kill: () => undefined, lastErrorLines: () => [], pid: undefined };
        },
      },
    });
    const running = worker.run();
    const deadline = Date.now() + 15_000;
    while (seen.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    worker.stop();
    await running;
    expect(new Set(seen).size).toBe(10);
    const workers = (await call("GET", "/api/work-pools/remote-pool")).body.workers;
    expect(workers).toHaveLength(1);
  });

  it("stores job variables on pools, deployments and runs, and hands a worker their merge", async () => {
    expect((await call("POST", "/api/work-pools", { name: "jv-pool", jobVariables: { env: { "1X": "y" } } })).status).toBe(400);
    const pool = await call("POST", "/api/work-pools", { name: "jv-pool", jobVariables: { env: { REGION: "eu", TIER: "pool" }, cwd: "/srv" } });
    expect(pool.body.jobVariables).toEqual({ env: { REGION: "eu", TIER: "pool" }, cwd: "/srv" });
    const bad = await call("POST", "/api/deployments", { name: "jv", flowName: "jf", entrypoint: "x.ts:jf", workPool: "jv-pool", jobVariables: { env: { A: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/jobVariables/);
    const dep = await call("POST", "/api/deployments", { name: "jv", flowName: "jf", entrypoint: "x.ts:jf", workPool: "jv-pool", jobVariables: { env: { TIER: "deployment", MODEL: "small" } } });
    expect(dep.body.jobVariables).toEqual({ env: { TIER: "deployment", MODEL: "small" } });
    expect((await call("POST", "/api/deployments/jv/runs", { jobVariables: { env: { MODEL: "large" }, cwd: "/tmp" } })).status).toBe(201);
    const [claimed] = (await call("POST", "/api/work-pools/jv-pool/claim", { workerId: "w", max: 1 })).body.items;
    expect(claimed.jobVariables).toEqual({ env: { REGION: "eu", TIER: "deployment", MODEL: "large" }, cwd: "/tmp" });
    // A run's own job variables also travel through POST /api/flow-runs (the remote CLI's path).
    const remoteStore = new RemoteStore(new ApiClient({ baseUrl: `${address}/api` }));
    await remoteStore.createFlowRun({
      id: newId(), flowName: "jf", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      entrypoint: "x.ts:jf", deploymentId: dep.body.id, workPool: "jv-pool", workQueue: "default", jobVariables: { env: { MODEL: "remote" } },
      state: makeState("Scheduled", { scheduledAt: Date.now() }),
    });
    const [viaFlowRuns] = (await call("POST", "/api/work-pools/jv-pool/claim", { workerId: "w", max: 1 })).body.items;
    expect(viaFlowRuns.jobVariables.env).toEqual({ REGION: "eu", TIER: "deployment", MODEL: "remote" });
    // Updating the pool without job variables keeps them.
    expect((await call("POST", "/api/work-pools", { name: "jv-pool", concurrencyLimit: 3 })).body.jobVariables.env.REGION).toBe("eu");
  });

  it("the server's crash detector ends Crashed the runs of a worker that stopped heartbeating, Pending ones too", async () => {
    await call("POST", "/api/work-pools", { name: "ghost-pool" });
    await call("POST", "/api/deployments", { name: "ghost-dep", flowName: "gf", entrypoint: "/x.ts:gf", workPool: "ghost-pool" });
    const created = (await call("POST", "/api/deployments/ghost-dep/runs", {})).body;
    expect((await call("POST", "/api/work-pools/ghost-pool/workers", { id: "ghost", name: "ghost", heartbeatMs: 100 })).status).toBe(201);
    expect((await call("POST", "/api/work-pools/ghost-pool/workers", { id: "bad", name: "bad", heartbeatMs: 0 })).status).toBe(400);
    expect((await call("POST", "/api/work-pools/ghost-pool/claim", { workerId: "ghost", max: 1 })).body.items.map((r: any) => r.id)).toEqual([created.id]);
    // No more heartbeats from "ghost": three missed 100 ms beats, then the next check (200 ms).
    await until(async () => (await call("GET", `/api/flow-runs/${created.id}`)).body.state.name === "Crashed", "the run to be Crashed", 5_000);
    expect((await call("GET", `/api/flow-runs/${created.id}`)).body.state.message).toMatch(/its worker has not heartbeated/);
  });

  describe("long-polled claims", () => {
    const claim = (body: Record<string, unknown>) => call("POST", "/api/work-pools/lp-pool/claim", { workerId: "lp", max: 5, ...body });
    const runNow = (scheduledAt?: number) => call("POST", "/api/deployments/lp-dep/runs", scheduledAt ? { scheduledAt } : {});
    const timed = async <T>(p: Promise<T>) => {
      const start = Date.now();
      const value = await p;
      return { value, ms: Date.now() - start };
    };

    it("answers as soon as a run is created through the API", async () => {
      await call("POST", "/api/work-pools", { name: "lp-pool" });
      await call("POST", "/api/deployments", { name: "lp-dep", flowName: "lpf", entrypoint: "x.ts:lpf", workPool: "lp-pool" });
      const waiting = timed(claim({ waitMs: 5000 }));
      await new Promise((r) => setTimeout(r, 150));
      const createdAt = Date.now();
      const run = (await runNow()).body;
      const { value } = await waiting;
      expect(value.body.items.map((r: any) => r.id)).toEqual([run.id]);
      expect(Date.now() - createdAt).toBeLessThan(500); // woken, not found by the 1 s re-check
    });

    it("wakes for a run due later, at its time", async () => {
      const run = (await runNow(Date.now() + 400)).body;
      const { value, ms } = await timed(claim({ waitMs: 5000 }));
      expect(value.body.items.map((r: any) => r.id)).toEqual([run.id]);
      expect(ms).toBeGreaterThanOrEqual(350);
      expect(ms).toBeLessThan(800);
    });

    it("answers empty after waitMs, or at once when the worker interrupts it", async () => {
      const idle = await timed(claim({ waitMs: 300 }));
      expect(idle.value.body.items).toEqual([]);
      expect(idle.ms).toBeGreaterThanOrEqual(290);
      const waiting = timed(claim({ waitMs: 10_000 }));
      await new Promise((r) => setTimeout(r, 100));
      expect((await call("POST", "/api/workers/lp/interrupt-claim")).status).toBe(204);
      const interrupted = await waiting;
      expect(interrupted.value.body.items).toEqual([]);
      expect(interrupted.ms).toBeLessThan(1000);
      expect((await claim({ waitMs: 60_000 })).status).toBe(400);
    });

    it("is woken by runs another process creates (PostgreSQL: LISTEN; SQLite: the re-check)", async () => {
      const other = await openStore(dbUrl);
      try {
        const d = (await call("GET", "/api/deployments/lp-dep")).body;
        const waiting = timed(claim({ waitMs: 5000 }));
        await new Promise((r) => setTimeout(r, 150));
        const createdAt = Date.now();
        const run = await other.createFlowRun({
          id: newId(), flowName: "lpf", name: "x", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
          entrypoint: d.entrypoint, deploymentId: d.id, workPool: "lp-pool", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() }),
        });
        expect((await waiting).value.body.items.map((r: any) => r.id)).toEqual([run.id]);
        expect(Date.now() - createdAt).toBeLessThan(dialect === "postgres" ? 500 : 1500);
      } finally {
        await other.close();
      }
    });

    it("a remote worker long-polls: it starts a run at once and stops at once", async () => {
      const api = new ApiClient({ baseUrl: `${address}/api` });
      const remoteStore = new RemoteStore(api);
      const started: number[] = [];
      const worker = new Worker(remoteStore, new RemoteOrchestrationStore(api), {
        pool: "lp-pool",
        limit: 2,
        pollMs: 30_000, // were it polling, nothing would start within the test
        claimWaitMs: 10_000,
        runEnv: {},
        log: () => undefined,
        infrastructure: {
          type: "process",
          start: (id) => {
            started.push(Date.now());
            const exited = (async () => {
              await remoteStore.setFlowRunState(id, makeState("Running"));
              await remoteStore.setFlowRunState(id, makeState("Completed"));
              return 0;
            })();
            return { exited, stop: () => undefined, kill: () => undefined, lastErrorLines: () => [], pid: undefined };
          },
        },
      });
      const running = worker.run();
      await new Promise((r) => setTimeout(r, 300));
      const createdAt = Date.now();
      await runNow();
      await until(() => started.length === 1, "the run to start", 3_000);
      expect(started[0]! - createdAt).toBeLessThan(500);
      const stoppingAt = Date.now();
      worker.stop();
      await running;
      expect(Date.now() - stoppingAt).toBeLessThan(1000);
    });
  });

  it("manages concurrency limits: acquire until full, release, reset, delete", async () => {
    expect((await call("POST", "/api/concurrency-limits", { name: "db", limit: 2 })).body).toMatchObject({ name: "db", limit: 2, activeSlots: 0 });
    expect((await call("POST", "/api/concurrency-limits", { name: "db", limit: 0 })).status).toBe(400);
    const a = await call("POST", "/api/concurrency-limits/acquire", { names: ["db"], holder: "a", slots: 2, ttlMs: 60_000 });
    expect(a.body.acquired).toBe(true);
    expect((await call("POST", "/api/concurrency-limits/acquire", { names: ["db"], holder: "b", slots: 1, ttlMs: 60_000 })).body.acquired).toBe(false);
    expect((await call("POST", "/api/concurrency-limits/acquire", { names: ["db"], holder: "c", slots: 3, ttlMs: 60_000 })).status).toBe(400);
    expect((await call("GET", "/api/concurrency-limits/db")).body).toMatchObject({ activeSlots: 2, holders: [{ holder: "a", slots: 2 }] });
    await call("POST", "/api/concurrency-leases/release", { ids: a.body.leases.map((l: any) => l.id) });
    expect((await call("GET", "/api/concurrency-limits/db")).body.activeSlots).toBe(0);
    await call("POST", "/api/concurrency-limits/acquire", { names: ["db"], holder: "d", slots: 1, ttlMs: 60_000 });
    expect((await call("POST", "/api/concurrency-limits/db/reset")).body.activeSlots).toBe(0);
    expect((await call("DELETE", "/api/concurrency-limits/db")).status).toBe(204);
    expect((await call("GET", "/api/concurrency-limits/db")).status).toBe(404);
  });
});
