/**
 * The REST API through Fastify's inject (real store, real validation), on SQLite and
 * PostgreSQL: the happy paths and hostile input. Every refusal is a 4xx JSON error naming the
 * field, nothing is half-written, and the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer, type BatonServer } from "../../src/server/app.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

describe.each(DIALECTS)("REST API on %s", (dialect) => {
  let store: KyselyStore;
  let server: BatonServer;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    store = await openStore(db.url);
    server = await buildServer({ store, bodyLimit: 64 * 1024, eventPollMs: 50 });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await cleanup();
  });

  const call = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const response = await server.app.inject({ method: method as "GET", url, payload: payload as string, headers });
    return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as any) : undefined, headers: response.headers };
  };

  const expectError = (res: { status: number; body: any }, status: number, pattern: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code: expect.any(String), message: expect.stringMatching(pattern) });
    expect(res.body.error).toHaveProperty("details");
  };

  it("reports health with the database and its latency", async () => {
    const res = await call("GET", "/api/health");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok", database: { dialect, latencyMs: expect.any(Number) } });
  });

  it("serves an OpenAPI 3 document generated from the route schemas", async () => {
    const res = await call("GET", "/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    for (const path of ["/api/flow-runs", "/api/flow-runs/{id}", "/api/flow-runs/{id}/set-state", "/api/batch", "/api/logs", "/api/live/stream"])
      expect(Object.keys(res.body.paths)).toContain(path);
    expect(res.body.paths["/api/flow-runs"].post.requestBody.content["application/json"].schema.required).toContain("flowName");
  });

  it("creates, lists with filters and cursor pages, gets, transitions and deletes flow runs", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", "/api/flow-runs", { flowName: "api-flow", parameters: { i }, tags: i % 2 ? ["odd"] : ["even", "x"] });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ flowName: "api-flow", state: { name: "Pending" }, parameters: { i } });
      ids.push(res.body.id);
    }
    const scheduled = await call("POST", "/api/flow-runs", { flowName: "api-flow", scheduledAt: Date.now() + 60_000 });
    expect(scheduled.body.state).toMatchObject({ type: "SCHEDULED", name: "Scheduled" });

    const page1 = await call("GET", "/api/flow-runs?flow=api-flow&limit=4");
    expect(page1.body.items).toHaveLength(4);
    const page2 = await call("GET", `/api/flow-runs?flow=api-flow&limit=4&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items).toHaveLength(2);
    expect(page2.body.nextCursor).toBeNull();
    const all = [...page1.body.items, ...page2.body.items].map((r: any) => r.id);
    expect(new Set(all).size).toBe(6);
    expect((await call("GET", "/api/flow-runs?tag=odd")).body.items).toHaveLength(2);
    expect((await call("GET", "/api/flow-runs?tag=even,x")).body.items).toHaveLength(3);
    expect((await call("GET", "/api/flow-runs?stateType=scheduled")).body.items).toHaveLength(1);
    expect((await call("GET", `/api/flow-runs?since=${Date.now() + 1000}`)).body.items).toHaveLength(0);

    const id = ids[0]!;
    expect((await call("POST", `/api/flow-runs/${id}/set-state`, { state: { name: "Running" } })).status).toBe(200);
    const done = await call("POST", `/api/flow-runs/${id}/set-state`, { state: { name: "Completed", message: "ok" } });
    expect(done.body.state).toMatchObject({ name: "Completed", message: "ok" });
    const history = await call("GET", `/api/flow-runs/${id}/states`);
    expect(history.body.map((s: any) => s.name)).toEqual(["Pending", "Running", "Completed"]);

    // An invalid transition is a 409 naming the rule, and changes nothing.
    const refused = await call("POST", `/api/flow-runs/${id}/set-state`, { state: { name: "Running" } });
    expectError(refused, 409, /already Completed/);
    expect(refused.body.error.details.rule).toBe("CompletedIsFinal");
    expect((await call("GET", `/api/flow-runs/${id}/states`)).body).toHaveLength(3);
    // ...unless an admin forces it.
    expect((await call("POST", `/api/flow-runs/${id}/set-state`, { state: { name: "Pending" }, force: true })).status).toBe(200);

    const cancelled = await call("POST", `/api/flow-runs/${ids[1]}/cancel`);
    expect(cancelled.body.state.name).toBe("Cancelled");
    // No work pool: no worker would ever pick an AwaitingRetry run up. Refused, run unchanged.
    const noPool = await call("POST", `/api/flow-runs/${ids[1]}/retry`);
    expectError(noPool, 409, new RegExp(`flow run ${ids[1]} has no work pool, so no worker can pick it up: resume it with \`baton flow-run retry ${ids[1]}\``));
    expect((await call("GET", `/api/flow-runs/${ids[1]}`)).body.state.name).toBe("Cancelled");
    expect((await call("GET", `/api/flow-runs/${ids[1]}/states`)).body.map((s: any) => s.name)).toEqual(["Pending", "Cancelled"]);
    // A run of a pool with its entrypoint is handed back to the pool's workers.
    const pooled = (await call("POST", "/api/flow-runs", { flowName: "api-flow", workPool: "p", entrypoint: "/x/flow.ts:api-flow" })).body;
    await call("POST", `/api/flow-runs/${pooled.id}/cancel`);
    const retried = await call("POST", `/api/flow-runs/${pooled.id}/retry`);
    expect(retried.body.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });
    const noEntrypoint = (await call("POST", "/api/flow-runs", { flowName: "api-flow", workPool: "p" })).body;
    await call("POST", `/api/flow-runs/${noEntrypoint.id}/cancel`);
    expectError(await call("POST", `/api/flow-runs/${noEntrypoint.id}/retry`), 409, /did not record its entrypoint/);

    expect((await call("DELETE", `/api/flow-runs/${ids[2]}`)).status).toBe(204);
    expectError(await call("GET", `/api/flow-runs/${ids[2]}`), 404, /was not found/);
    expectError(await call("DELETE", `/api/flow-runs/${ids[2]}`), 404, /was not found/);
  });

  it("accepts a batch of task-run transitions and logs, and refuses an invalid one whole", async () => {
    const run = (await call("POST", "/api/flow-runs", { flowName: "batch-flow" })).body;
    await call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    const taskId = newId();
    const base = { id: taskId, flowRunId: run.id, taskKey: "t-0", taskName: "t", runCount: 0, cacheKey: null, resultId: null, error: null, tags: [], createdAt: Date.now(), startTime: null, endTime: null };
    const pending = makeState("Pending");
    const running = makeState("Running", { timestamp: pending.timestamp + 1 });
    const completed = makeState("Completed", { timestamp: pending.timestamp + 2 });
    const resultId = newId();
    const ops = [
      { kind: "taskRun", taskRun: { ...base, state: pending } },
      { kind: "state", state: { ...pending, flowRunId: run.id, taskRunId: taskId } },
      { kind: "taskRun", taskRun: { ...base, state: running, runCount: 1, startTime: running.timestamp } },
      { kind: "state", state: { ...running, flowRunId: run.id, taskRunId: taskId } },
      { kind: "result", result: { id: resultId, serializer: "devalue/1", value: "[42]", path: null, size: 4, createdAt: Date.now() } },
      { kind: "taskRun", taskRun: { ...base, state: completed, runCount: 1, resultId, startTime: running.timestamp, endTime: completed.timestamp } },
      { kind: "state", state: { ...completed, flowRunId: run.id, taskRunId: taskId } },
      { kind: "log", log: { flowRunId: run.id, taskRunId: taskId, level: 30, message: "hello from a batch", timestamp: Date.now() } },
    ];
    const batchId = newId();
    const applied = await call("POST", "/api/batch", { batchId, ops });
    expect(applied.status).toBe(200);
    expect(applied.body).toEqual({ applied: ops.length, duplicate: false });
    // The same batch again (a client retry) is applied once.
    expect((await call("POST", "/api/batch", { batchId, ops })).body).toEqual({ applied: 0, duplicate: true });
    const tasks = await call("GET", `/api/flow-runs/${run.id}/task-runs`);
    expect(tasks.body.items).toHaveLength(1);
    expect(tasks.body.items[0]).toMatchObject({ state: { name: "Completed" }, resultId });
    expect((await call("GET", `/api/task-runs/${taskId}/states`)).body.map((s: any) => s.name)).toEqual(["Pending", "Running", "Completed"]);
    expect((await call("GET", `/api/results/${resultId}`)).body.value).toBe("[42]");
    const logs = await call("GET", `/api/logs?flowRunId=${run.id}&minLevel=30`);
    expect(logs.body.items.map((l: any) => l.message)).toEqual(["hello from a batch"]);

    // Completed -> Running is refused, and the other ops of that batch are not applied.
    const other = newId();
    const bad = await call("POST", "/api/batch", {
      ops: [
        { kind: "log", log: { flowRunId: run.id, taskRunId: null, level: 30, message: "must not appear", timestamp: Date.now() } },
        { kind: "taskRun", taskRun: { ...base, id: other, taskKey: "t-1", state: makeState("Pending") } },
        { kind: "taskRun", taskRun: { ...base, state: makeState("Running") } },
      ],
    });
    expectError(bad, 409, /t-0.*already Completed/);
    expect((await call("GET", `/api/task-runs/${other}`)).status).toBe(404);
    expect((await call("GET", `/api/logs?flowRunId=${run.id}`)).body.items.some((l: any) => l.message === "must not appear")).toBe(false);
  });

  it("answers hostile input with a 4xx naming the problem, and stays up", async () => {
    expectError(await call("POST", "/api/flow-runs", { flowName: 42 }), 400, /body\.flowName must be string/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", bogus: true }), 400, /unknown field "bogus"/);
    expectError(await call("POST", "/api/flow-runs", {}), 400, /flowName is required/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", parameters: "nope" }), 400, /body\.parameters must be object/);
    expectError(await call("POST", "/api/flow-runs", "{not json", { "content-type": "application/json" }), 400, /not valid JSON/);
    expectError(await call("POST", "/api/flow-runs", "flowName=x", { "content-type": "text/plain" }), 415, /application\/json/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x".repeat(100_000) }), 413, /larger than the server's limit/);
    expectError(await call("GET", "/api/flow-runs?limit=0"), 400, /querystring\.limit must be >= 1/);
    expectError(await call("GET", "/api/flow-runs?limit=ten"), 400, /querystring\.limit must be integer/);
    expectError(await call("GET", "/api/flow-runs?state=Exploded"), 400, /unknown value "Exploded"/);
    expectError(await call("GET", "/api/flow-runs?cursor=garbage"), 400, /invalid cursor/);
    expectError(await call("GET", "/api/flow-runs?color=red"), 400, /unknown field "color"/);
    expectError(await call("GET", "/api/flow-runs/does-not-exist"), 404, /flow run does-not-exist was not found/);
    expectError(await call("GET", "/api/task-runs/does-not-exist"), 404, /task run does-not-exist was not found/);
    expectError(await call("GET", "/api/results/nope"), 404, /not found/);
    expectError(await call("POST", "/api/flow-runs/nope/set-state", { state: { name: "Running" } }), 404, /not found/);
    expectError(await call("POST", "/api/flow-runs/nope/set-state", { state: { name: "Exploded" } }), 400, /body\.state\.name must be one of/);
    expectError(await call("POST", "/api/flow-runs/nope/set-state", { state: {} }), 400, /state\.name is required/);
    expectError(await call("GET", "/api/no-such-route"), 404, /no route GET \/api\/no-such-route/);
    expectError(await call("PATCH", "/api/flow-runs"), 404, /no route PATCH/);
    expectError(await call("POST", "/api/batch", { ops: [{ kind: "explode" }] }), 400, /body\.ops/);
    expectError(await call("POST", "/api/batch", { ops: [{ kind: "log", log: { flowRunId: "ghost", level: 30, message: "x", timestamp: 1 } }] }), 404, /flow run ghost/);
    expectError(await call("GET", "/api/logs"), 400, /flowRunId is required/);
    expectError(await call("POST", "/api/logs", { logs: [{ flowRunId: "ghost", level: "loud", message: "x", timestamp: 1 }] }), 400, /level must be integer/);
    expect((await call("GET", "/api/health")).status).toBe(200);
  });

  it("streams state changes and logs of one flow run over SSE", async () => {
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const run = (await call("POST", "/api/flow-runs", { flowName: "sse-flow" })).body;
    const other = (await call("POST", "/api/flow-runs", { flowName: "sse-flow" })).body;
    const controller = new AbortController();
    const response = await fetch(`${address}/api/live/stream?flowRunId=${run.id}`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events: any[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (const frame of buffer.split("\n\n").slice(0, -1)) {
            const data = frame.split("\n").find((l) => l.startsWith("data: "));
            if (data) events.push(JSON.parse(data.slice(6)));
          }
          buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 2);
          if (events.some((e) => e.kind === "state" && e.name === "Completed")) break;
        }
      } catch {
        // aborted
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await call("POST", `/api/flow-runs/${other.id}/set-state`, { state: { name: "Running" } });
    await call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    await call("POST", "/api/logs", { logs: [{ flowRunId: run.id, level: 30, message: "live line", timestamp: Date.now() }] });
    await call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Completed" } });
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))]);
    controller.abort();
    // (The run's creation may arrive too: it can land after the hub's previous poll.)
    expect(events.filter((e) => e.kind === "state" && e.name !== "Pending").map((e) => e.name)).toEqual(["Running", "Completed"]);
    expect(events.every((e) => e.flowRunId === run.id)).toBe(true);
    expect(events.some((e) => e.kind === "log" && e.message === "live line")).toBe(true);
  });

  it("requires an API key when keys are configured", async () => {
    const guarded = await buildServer({ store, apiKeys: ["admin:admin-secret-1", "worker:worker-secret-1"] });
    try {
      const noKey = await guarded.app.inject({ method: "GET", url: "/api/flow-runs" });
      expect(noKey.statusCode).toBe(401);
      expect(noKey.json().error.message).toMatch(/requires an API key/);
      expect((await guarded.app.inject({ method: "GET", url: "/api/health" })).statusCode).toBe(200);
      const ok = await guarded.app.inject({ method: "GET", url: "/api/flow-runs", headers: { authorization: "Bearer worker-secret-1" } });
      expect(ok.statusCode).toBe(200);
      const run = (await call("POST", "/api/flow-runs", { flowName: "guarded" })).body;
      const forced = await guarded.app.inject({
        method: "POST",
        url: `/api/flow-runs/${run.id}/set-state`,
        payload: { state: { name: "Completed" }, force: true },
        headers: { authorization: "Bearer worker-secret-1" },
      });
      expect(forced.statusCode).toBe(403);
    } finally {
      await guarded.close();
    }
  });
});
