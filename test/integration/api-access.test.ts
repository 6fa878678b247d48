import { createHash } from "node:crypto";
/**
 * Who may call what with the two key roles (issue 17). A worker key may do what a worker and
 * the processes of the runs it claimed need — register and heartbeat, claim, report on the runs
 * workers claimed and their children, take concurrency slots, sweep stale runs — and nothing
 * else that mutates: every route the server registers is walked, so a new route cannot be
 * forgotten. Job variables are an admin's to set and to read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { TASK_JOB_TAG } from "../../src/core/entrypoint.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { buildServer } from "../../src/server/app.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";

const ADMIN = { authorization: "Bearer admin-secret-1" };
const WORKER = { authorization: "Bearer worker-secret-1" };

/** What a worker and its runs' processes call (src/client, src/worker, the engine in remote mode). */
const WORKER_ROUTES = [
  "POST /api/work-pools/:name/workers",
  "POST /api/workers/:id/heartbeat",
  "POST /api/work-pools/:name/claim",
  "POST /api/workers/:id/interrupt-claim",
  "POST /api/flow-runs",
  "POST /api/flow-runs/:id/set-state",
  "POST /api/flow-runs/:id/heartbeat",
  "POST /api/flow-runs/:id/pause",
  "POST /api/flow-runs/crash-stale",
  "POST /api/logs",
  "POST /api/artifacts",
  "PATCH /api/artifacts/:id",
  "POST /api/batch",
  "POST /api/run-values",
  "POST /api/models/:name/versions",
  "POST /api/models/:name/moves",
  "POST /api/asset-reads",
  "POST /api/asset-materializations",
  "POST /api/concurrency-limits/acquire",
  "POST /api/concurrency-leases/renew",
  "POST /api/concurrency-leases/release",
  "PUT /api/variables/:name",
  "PUT /api/result-blobs/:sha256",
];
/** Signing in and out of the dashboard needs no key (the key is in the body); calling a webhook neither (its slug is the secret). */
const PUBLIC_ROUTES = ["POST /api/session", "DELETE /api/session", "POST /api/webhooks/:slug"];

/** A module a run's process would import: with it in NODE_OPTIONS, a worker host runs any code. */
const NODE_OPTIONS_PAYLOAD = { env: { NODE_OPTIONS: '--import=data:text/javascript,import("node:fs").then(f=>f.writeFileSync("/tmp/baton-pwned",""))' } };
/** Job variables nobody would refuse for their content: a worker key is refused them all the same. */
const HARMLESS = { env: { GREETING: "hello" } };

describe.each(DIALECTS)("access by key role on %s", (dialect) => {
  let api: ApiHarness;
  let orchestration: KyselyOrchestrationStore;
  const as = async (headers: Record<string, string>, method: string, url: string, payload?: unknown) => api.call(method, url, payload, headers);

  beforeAll(async () => {
    api = await apiHarness(dialect, { apiKeys: ["admin:admin-secret-1", "worker:worker-secret-1"] });
    orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertWorkPool({ name: "walk-target", jobVariables: { env: { API_TOKEN: "pool-token" } } });
    await orchestration.upsertDeployment({ name: "walk-target", flowName: "f", entrypoint: "flows.ts:f", workPool: "walk-target", jobVariables: { env: { DB_PASSWORD: "deployment-password" }, cwd: "/srv" } });
    await orchestration.upsertConcurrencyLimit({ name: "walk-target", limit: 2 });
  });
  afterAll(() => api.close());

  const mutating = () => api.server.routes.filter((r) => r.method !== "GET" && r.method !== "HEAD" && r.method !== "OPTIONS").map((r) => `${r.method} ${r.url}`);

  it("answers 403 naming the admin role to a worker key on every mutating route but the worker's own, and changes nothing", async () => {
    const routes = mutating();
    for (const route of [...WORKER_ROUTES, ...PUBLIC_ROUTES]) expect(routes, `${route} is not registered: update the list`).toContain(route);
    const unclaimed = (await as(ADMIN, "POST", "/api/flow-runs", { flowName: "walked" })).body.id as string;
    // A schedule's preview is a POST that only computes: a read, open to workers.
    const adminOnly = routes.filter((r) => !WORKER_ROUTES.includes(r) && !PUBLIC_ROUTES.includes(r) && r !== "POST /api/schedules/preview");
    // 17 today (31 mutating routes besides the session's, less the worker's 14); each new one is refused unless listed above.
    expect(adminOnly.length).toBeGreaterThanOrEqual(17);
    const target = (pattern: string, id: string, name: string) => pattern.replace(/:(\w+)/g, (_, param: string) => (param === "id" ? id : name));
    for (const route of adminOnly) {
      const [method, pattern] = route.split(" ") as [string, string];
      const res = await as(WORKER, method, target(pattern, unclaimed, "walk-target"), {});
      expect(res.status, `${route}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.error).toMatchObject({ code: "FORBIDDEN", message: expect.stringMatching(/needs an admin(, \w+)*( or \w+)? API key; this request's key is a worker key/) });
      // An admin key is refused none of them (aimed at targets that do not exist, so that it changes nothing either).
      expect((await as(ADMIN, method, target(pattern, newId(), "no-such-target"), {})).status, route).not.toBe(403);
    }
    expect((await api.store.getFlowRun(unclaimed))!.state.name).toBe("Pending");
    expect((await orchestration.getDeployment("walk-target"))!.paused).toBe(false);
    expect(await orchestration.getWorkPool("walk-target")).toBeDefined();
    expect(await orchestration.getConcurrencyLimit("walk-target")).toBeDefined();
  });

  it("lets a worker key make a worker's calls, and report on a claimed run and its children", async () => {
    const run = await claimedFlowRun(api.store, "worked");
    const pool = run.workPool!;
    const ok = async (method: string, url: string, payload: unknown, status = 200) => {
      const res = await as(WORKER, method, url, payload);
      expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(status);
      return res.body;
    };
    const called = new Set<string>();
    const call = async (route: string, url: string, payload: unknown, status?: number) => {
      called.add(route);
      return ok(route.split(" ")[0]!, url, payload, status);
    };
    await call("POST /api/work-pools/:name/workers", `/api/work-pools/${pool}/workers`, { id: "w-1", name: "w-1" }, 201);
    await call("POST /api/workers/:id/heartbeat", "/api/workers/w-1/heartbeat", undefined, 204);
    expect((await call("POST /api/work-pools/:name/claim", `/api/work-pools/${pool}/claim`, { workerId: "w-1", max: 1 })).items).toEqual([]);
    await call("POST /api/workers/:id/interrupt-claim", "/api/workers/w-1/interrupt-claim", undefined, 204);
    await call("POST /api/flow-runs/:id/set-state", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    await call("POST /api/flow-runs/:id/heartbeat", `/api/flow-runs/${run.id}/heartbeat`, {});
    // pauseFlowRun in the run's process, and the run going on once resumed.
    await call("POST /api/flow-runs/:id/pause", `/api/flow-runs/${run.id}/pause`, { key: "gate", schema: null, description: null, timeoutAt: null });
    await ok("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    await call("POST /api/logs", "/api/logs", { logs: [{ flowRunId: run.id, level: 20, message: "from the worker", timestamp: Date.now() }] }, 202);
    const artifactId = newId();
    await call("POST /api/artifacts", "/api/artifacts", { id: artifactId, key: null, type: "progress", data: 10, description: null, flowRunId: run.id, taskRunId: null }, 201);
    await call("PATCH /api/artifacts/:id", `/api/artifacts/${artifactId}`, { flowRunId: run.id, data: 50 });
    const op = taskRunOp(run.id);
    await call("POST /api/batch", "/api/batch", { ops: [op, stateOp(op)] });
    // logParams / logMetric of the run's task.
    const entry = { flowRunId: run.id, taskRunId: op.taskRun.id, experiment: "worked", params: { lr: "0.1" }, metrics: [{ name: "loss", step: 0, value: 0.5, timestamp: Date.now() }] };
    await call("POST /api/run-values", "/api/run-values", { entries: [entry] }, 204);
    // registerModel and promoteModel (its gate ran in the run) of the run's task.
    const model = { serializer: "devalue/1", value: "[1]", metrics: { f1: 0.9 }, flowRunId: run.id, taskRunId: op.taskRun.id };
    expect(await call("POST /api/models/:name/versions", "/api/models/worked/versions", model, 201)).toMatchObject({ version: 1, flowRunId: run.id });
    expect(await call("POST /api/models/:name/moves", "/api/models/worked/moves", { kind: "promoted", alias: "production", version: 1, flowRunId: run.id })).toEqual({ from: null, to: 1 });
    // materialize and declared reads of the run's task.
    const made = { key: "dataset://worked", version: null, hash: "sha256:1", rows: 1, schema: null, metadata: null, flowRunId: run.id, taskRunId: op.taskRun.id, inputs: [] };
    expect((await call("POST /api/asset-materializations", "/api/asset-materializations", made, 200)).created).toBe(true);
    expect((await call("POST /api/asset-reads", "/api/asset-reads", { flowRunId: run.id, taskRunId: op.taskRun.id, reads: [{ key: "dataset://worked", version: null }] }, 200)).items).toHaveLength(1);
    // A child flow run (what a flow calling a flow makes), and its own child: both the worker's.
    const child = await call("POST /api/flow-runs", "/api/flow-runs", { flowName: "child", parentFlowRunId: run.id, parentTaskRunId: null, deploymentId: null, workPool: null, workQueue: null }, 201);
    const grandchild = await ok("POST", "/api/flow-runs", { flowName: "grandchild", parentFlowRunId: child.id }, 201);
    await ok("POST", `/api/flow-runs/${grandchild.id}/set-state`, { state: { name: "Running" } });
    const childOp = taskRunOp(grandchild.id);
    await ok("POST", "/api/batch", { ops: [childOp, stateOp(childOp)] });
    const { leases } = await call("POST /api/concurrency-limits/acquire", "/api/concurrency-limits/acquire", { names: ["walk-target"], holder: op.taskRun.id, slots: 1, ttlMs: 5000 });
    expect(leases).toHaveLength(1);
    await call("POST /api/concurrency-leases/renew", "/api/concurrency-leases/renew", { ids: [leases[0].id], ttlMs: 5000 });
    await call("POST /api/concurrency-leases/release", "/api/concurrency-leases/release", { ids: [leases[0].id] }, 204);
    await call("POST /api/flow-runs/crash-stale", "/api/flow-runs/crash-stale", {});
    // A run's setVariable (variables are not secret; deleting one is an admin's).
    await call("PUT /api/variables/:name", "/api/variables/from-a-run", { value: { rows: 3 } }, 201);
    // A large result's bytes, sent before the row that names them (409 here: this server keeps results inline, no storage).
    const blob = Buffer.from(JSON.stringify({ rows: 3 }));
    called.add("PUT /api/result-blobs/:sha256");
    const stored = await api.call("PUT", `/api/result-blobs/${createHash("sha256").update(blob).digest("hex")}`, blob, { ...WORKER, "content-type": "application/octet-stream" });
    expect([204, 409], JSON.stringify(stored.body)).toContain(stored.status);
    expect([...called].sort()).toEqual([...WORKER_ROUTES].sort());
    expect((await api.store.listLogs({ flowRunId: run.id })).map((l) => l.message)).toContain("from the worker");
  });

  it("refuses a worker key the same calls on a run no worker claimed, naming the field, and writes nothing", async () => {
    const theirs = (await as(ADMIN, "POST", "/api/flow-runs", { flowName: "local" })).body.id as string;
    const refused = async (url: string, payload: unknown, field: RegExp) => {
      const res = await as(WORKER, "POST", url, payload);
      expectError(res, 403, field);
      expect(res.body.error.message).toMatch(/was not claimed by a worker, nor is it a child of such a run/);
    };
    await refused(`/api/flow-runs/${theirs}/set-state`, { state: { name: "Running" } }, /^params\.id: flow run /);
    await refused(`/api/flow-runs/${theirs}/heartbeat`, {}, /^params\.id: /);
    const mine = await claimedFlowRun(api.store, "mine");
    const line = (flowRunId: string) => ({ flowRunId, level: 20, message: "forged", timestamp: Date.now() });
    await refused("/api/logs", { logs: [line(mine.id), line(theirs)] }, /^body\.logs\.1\.flowRunId: /);
    await refused("/api/artifacts", { id: newId(), key: null, type: "markdown", data: "forged", description: null, flowRunId: theirs, taskRunId: null }, /^body\.flowRunId: /);
    expectError(await as(WORKER, "PATCH", `/api/artifacts/${newId()}`, { flowRunId: theirs, data: 1 }), 403, /^body\.flowRunId: .*was not claimed by a worker/);
    const op = taskRunOp(theirs);
    await refused("/api/batch", { ops: [op, stateOp(op)] }, /^body\.ops: flow run /);
    await refused("/api/flow-runs", { flowName: "child", parentFlowRunId: theirs }, /^body\.parentFlowRunId: /);
    const values = (flowRunId: string) => ({ flowRunId, taskRunId: null, experiment: "forged", params: {}, metrics: [{ name: "loss", step: 0, value: 1, timestamp: 1 }] });
    await refused("/api/run-values", { entries: [values(mine.id), values(theirs)] }, /^body\.entries\.1\.flowRunId: /);
    await refused("/api/models/forged/versions", { serializer: "devalue/1", value: "[1]", flowRunId: theirs }, /^body\.flowRunId: /);
    await refused("/api/models/forged/moves", { kind: "promoted", alias: "production", version: 1, flowRunId: theirs }, /^body\.flowRunId: /);
    // Without a run, a worker key moves no alias.
    expectError(await as(WORKER, "POST", "/api/models/forged/moves", { kind: "rolled-back", alias: "production" }), 403, /^body\.flowRunId: a worker key registers models and moves aliases only for a run it holds/);
    await refused("/api/asset-materializations", { key: "dataset://forged", version: null, hash: "sha256:1", rows: null, schema: null, metadata: null, flowRunId: theirs, taskRunId: null, inputs: [] }, /^body\.flowRunId: /);
    await refused("/api/asset-reads", { flowRunId: theirs, taskRunId: null, reads: [{ key: "dataset://forged", version: null }] }, /^body\.flowRunId: /);
    // A batch naming no flow run itself: its cache entry and dependency are about their task run.
    const stored = taskRunOp(theirs);
    expect((await as(ADMIN, "POST", "/api/batch", { ops: [stored, stateOp(stored)] })).status).toBe(200);
    const result = { kind: "result", result: { id: newId(), serializer: "devalue/1", value: "[1]", path: null, size: 3, createdAt: Date.now() } };
    await refused("/api/batch", { ops: [result, { kind: "cache", entry: { cacheKey: "k", resultId: result.result.id, taskRunId: stored.taskRun.id, expiresAt: null, createdAt: 1 } }] }, /^body\.ops: flow run /);
    const ours = taskRunOp(mine.id);
    expect((await as(WORKER, "POST", "/api/batch", { ops: [ours, stateOp(ours)] })).status).toBe(200);
    await refused("/api/batch", { ops: [{ kind: "dependency", dependency: { taskRunId: stored.taskRun.id, upstreamTaskRunId: ours.taskRun.id, kind: "data" } }] }, /^body\.ops: flow run /);

    // A top-level run is an admin's to create.
    expectError(await as(WORKER, "POST", "/api/flow-runs", { flowName: "top" }), 403, /^body\.parentFlowRunId is required with a worker key/);
    expectError(await as(WORKER, "POST", "/api/flow-runs", { flowName: "top", parentFlowRunId: newId() }), 404, /^body\.parentFlowRunId: flow run .* was not found/);

    const after = (await api.store.getFlowRun(theirs))!;
    expect(after.state.name).toBe("Pending");
    expect(await api.store.listLogs({ flowRunId: theirs })).toEqual([]);
    expect(await api.store.listArtifacts({ flowRunId: theirs })).toEqual([]);
    expect((await api.store.listTaskRuns(theirs)).map((t) => t.id)).toEqual([stored.taskRun.id]);
    expect(await api.store.lookupCache("k", Date.now())).toBeUndefined();
    expect(await api.store.listDependencies(theirs)).toEqual([]);
    expect(await api.store.listFlowRuns({ parentFlowRunId: theirs })).toEqual([]);
  });

  it("refuses job variables from a worker key (a NODE_OPTIONS that would run code on worker hosts): no run is made, none is claimed", async () => {
    const parent = await claimedFlowRun(api.store, "parent");
    const before = (await api.store.listFlowRuns({ limit: 500 })).length;
    for (const jobVariables of [NODE_OPTIONS_PAYLOAD, HARMLESS]) {
      const child = await as(WORKER, "POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: parent.id, workPool: null, jobVariables });
      expectError(child, 403, /^body\.jobVariables: only an admin API key may set it \(job variables set the environment .* of the run's process on a worker's host/);
      const run = await as(WORKER, "POST", "/api/deployments/walk-target/runs", { jobVariables });
      expectError(run, 403, /POST \/api\/deployments\/:name\/runs needs an admin, developer or operator API key; this request's key is a worker key/);
    }
    // Nor may a worker key put a child run where workers would claim it, or start a deployment's.
    expectError(await as(WORKER, "POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: parent.id, workPool: "walk-target" }), 403, /^body\.workPool: only an admin/);
    const deployment = (await orchestration.getDeployment("walk-target"))!;
    expectError(await as(WORKER, "POST", "/api/flow-runs", { flowName: "f", parentFlowRunId: parent.id, deploymentId: deployment.id }), 403, /^body\.deploymentId: only an admin/);
    expect((await api.store.listFlowRuns({ limit: 500 })).length).toBe(before);
    expect(await orchestration.claimFlowRuns("walk-target", "w-claims", 10, Date.now())).toEqual([]);
    // The harmless body from an admin is a run a worker claims with it: the refusal above is the key's.
    expect((await as(ADMIN, "POST", "/api/deployments/walk-target/runs", { jobVariables: HARMLESS })).status).toBe(201);
    const [claimed] = await orchestration.claimFlowRuns("walk-target", "w-claims", 10, Date.now());
    expect(claimed!.jobVariables.env).toMatchObject(HARMLESS.env);
  });

  it("lets a worker key place the task jobs of its run's tasks in a pool, for modules in its run's entrypoint folder only", async () => {
    const parent = await claimedFlowRun(api.store, "parent"); // entrypoint flows.ts:claimed
    await orchestration.upsertWorkPool({ name: "task-jobs" });
    const child = await as(WORKER, "POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: parent.id });
    expect(child.status).toBe(201);
    const job = (from: string, entrypoint: string, tags = [TASK_JOB_TAG]) =>
      as(WORKER, "POST", "/api/flow-runs", { flowName: "parent", parentFlowRunId: from, parentTaskRunId: newId(), entrypoint, tags, workPool: "task-jobs", parameters: { task: "fit", args: "[]" }, scheduledAt: Date.now() });
    // From the run and from its child (which has no entrypoint: its parent's folder counts).
    for (const from of [parent.id, child.body.id]) {
      const placed = await job(from, "tasks/fit.ts:fit");
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      expect(placed.body).toMatchObject({ workPool: "task-jobs", workQueue: "default", state: { name: "Scheduled" } });
    }
    expectError(await job(parent.id, "../elsewhere/tasks.ts:fit"), 403, /^body\.entrypoint: \.\.\/elsewhere\/tasks\.ts is not in \., the folder of flows\.ts:claimed; a worker key may only place task jobs/);
    expectError(await job(parent.id, "/etc/baton/evil.ts:fit"), 403, /^body\.entrypoint: \/etc\/baton\/evil\.ts is not in \., the folder of flows\.ts:claimed/);
    // Not a task job (no tag): the pool stays an admin's field.
    expectError(await job(parent.id, "tasks/fit.ts:fit", []), 403, /^body\.workPool: only an admin API key may set it \(.*a worker key may only place task jobs of its runs\)/);
    // Nor for a run that is not a worker's.
    const theirs = (await as(ADMIN, "POST", "/api/flow-runs", { flowName: "theirs" })).body.id;
    expectError(await job(theirs, "tasks/fit.ts:fit"), 403, /^body\.parentFlowRunId: flow run .* was not claimed by a worker/);
    expect((await orchestration.claimFlowRuns("task-jobs", "w-jobs", 10, Date.now())).map((r) => r.tags)).toEqual([[TASK_JOB_TAG], [TASK_JOB_TAG]]);
  });

  it("shows job variables' env values only to admins; a worker's claim still gets them", async () => {
    const admin = await as(ADMIN, "GET", "/api/deployments/walk-target");
    expect(admin.body.jobVariables).toEqual({ env: { DB_PASSWORD: "deployment-password" }, cwd: "/srv" });
    const masked = { env: { DB_PASSWORD: "********" }, cwd: "/srv" };
    expect((await as(WORKER, "GET", "/api/deployments/walk-target")).body.jobVariables).toEqual(masked);
    expect((await as(WORKER, "GET", "/api/deployments")).body.items.find((d: any) => d.name === "walk-target").jobVariables).toEqual(masked);
    expect((await as(ADMIN, "GET", "/api/deployments")).body.items.find((d: any) => d.name === "walk-target").jobVariables.env.DB_PASSWORD).toBe("deployment-password");
    expect((await as(WORKER, "GET", "/api/work-pools/walk-target")).body.jobVariables).toEqual({ env: { API_TOKEN: "********" } });
    expect((await as(WORKER, "GET", "/api/work-pools")).body.items.find((p: any) => p.name === "walk-target").jobVariables).toEqual({ env: { API_TOKEN: "********" } });
    expect((await as(ADMIN, "GET", "/api/work-pools/walk-target")).body.jobVariables.env.API_TOKEN).toBe("pool-token");

    // Without keys everyone is an admin.
    const open = await buildServer({ store: api.store });
    try {
      const shown = await open.app.inject({ method: "GET", url: "/api/deployments/walk-target" });
      expect(shown.json().jobVariables.env).toEqual({ DB_PASSWORD: "deployment-password" });
    } finally {
      await open.close();
    }

    expect((await as(ADMIN, "POST", "/api/deployments/walk-target/runs", {})).status).toBe(201);
    const claim = await as(WORKER, "POST", "/api/work-pools/walk-target/claim", { workerId: "w-env", max: 1 });
    expect(claim.body.items[0].jobVariables.env).toEqual({ API_TOKEN: "pool-token", DB_PASSWORD: "deployment-password" });
  });
});
