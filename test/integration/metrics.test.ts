/**
 * The server's Prometheus metrics (GET /metrics), on SQLite and PostgreSQL: runs made in several
 * states through the API, concurrently; the scrape, read by Prometheus' official text parser,
 * must say what the API says (runs by flow and state, queues, workers, slots), count the
 * transitions this server saw, and label requests by route pattern, never by run id. With
 * authentication on, only a key whose role or grants hold `metrics:read` may scrape.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { createApiKey } from "../../src/services/credentials.ts";
import { KyselyCredentialStore } from "../../src/store/credential-store.ts";
import { apiHarness, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";
import { parseMetrics, samplesOf, valueOf, type MetricFamily } from "../support/prometheus.ts";
import { ROOT } from "../support/processes.ts";

const FLOWS = ["etl", "train", "report"] as const;
/** The series a worker's scrape has (src/worker/metrics.ts), which the dashboard may query too. */
const WORKER_METRICS = new Set(["baton_worker_runs_claimed_total", "baton_worker_runs_started_total", "baton_worker_runs_finished_total", "baton_worker_active_runs", "baton_worker_claim_duration_seconds_bucket", "baton_worker_claim_duration_seconds_count", "baton_worker_claim_duration_seconds_sum"]);

/** The ops of a task run created Pending, then Running at `start`, then (unless Running) `final` at `end`, in one batch. */
function taskRunOps(flowRunId: string, final: "Completed" | "Failed" | "Running", start: number, end: number) {
  const op = taskRunOp(flowRunId, { state: makeState("Pending", { timestamp: start - 1 }) });
  const running = { ...op, taskRun: { ...op.taskRun, state: makeState("Running", { timestamp: start }), startTime: start } };
  const ops: unknown[] = [op, stateOp(op), running, stateOp(running)];
  if (final !== "Running") {
    const done = { ...running, taskRun: { ...running.taskRun, state: makeState(final, { timestamp: end }), endTime: end } };
    ops.push(done, stateOp(done));
  }
  return ops;
}
/** Where each run of a flow ends: a spread of states, final and not. */
const PATHS: readonly (readonly string[])[] = [[], ["Running"], ["Running", "Completed"], ["Running", "Failed"], ["Cancelled"]];
/** The states those paths end in: with 3 flows and 5 paths over 15 runs, every flow has one run in each. */
const ENDS = ["Pending", "Running", "Completed", "Failed", "Cancelled"];

describe.each(DIALECTS)("GET /metrics (%s)", (dialect) => {
  let api: ApiHarness;
  let families: MetricFamily[];
  const made: string[] = [];

  beforeAll(async () => {
    api = await apiHarness(dialect, { automationService: false });
    const ok = async (method: string, url: string, body?: unknown) => {
      const res = await api.call(method, url, body);
      expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      return res.body;
    };
    // Some load: 15 runs made and moved concurrently, each its own chain of calls.
    await Promise.all(
      Array.from({ length: 15 }, async (_, i) => {
        const run = await ok("POST", "/api/flow-runs", { flowName: FLOWS[i % 3], state: "Pending" });
        made.push(run.id);
        for (const name of PATHS[i % PATHS.length]!) await ok("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name } });
      }),
    );
    // A pool with two queues: due runs (one due a minute ago), and one not due yet.
    await ok("POST", "/api/work-pools", { name: "gpu" });
    await ok("POST", "/api/work-pools/gpu/queues", { name: "urgent" });
    const now = Date.now();
    for (const [queue, at] of [["default", now - 60_000], ["default", now - 1_000], ["urgent", now - 5_000], ["urgent", now + 3_600_000]] as const)
      await ok("POST", "/api/flow-runs", { flowName: "etl", state: "Scheduled", scheduledAt: at, workPool: "gpu", workQueue: queue });
    await ok("POST", "/api/work-pools/gpu/workers", { id: newId(), name: "w1", heartbeatMs: 10_000 });
    // A run of a schedule slot, started 2 s after its slot: one pickup of about 2 s.
    const slotted = newId();
    await api.store.createFlowRun({
      id: slotted, flowName: "nightly", name: "slot", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      workPool: "gpu", expectedStartTime: now - 2_000, state: makeState("Pending"),
    });
    await ok("POST", `/api/flow-runs/${slotted}/set-state`, { state: { name: "Running", timestamp: now } });
    // Slots: 2 of 5 held.
    await ok("POST", "/api/concurrency-limits", { name: "db", limit: 5 });
    await ok("POST", "/api/concurrency-limits/acquire", { names: ["db"], holder: "test", slots: 2, ttlMs: 60_000 });
    // Task runs through the write path remote flows use: 3 Completed, 1 Failed, 1 Running.
    const t0 = Date.now() - 500;
    const running = made.find((_, i) => PATHS[i % PATHS.length]!.join() === "Running")!;
    const ops = (["Completed", "Completed", "Completed", "Failed", "Running"] as const).flatMap((final) => taskRunOps(running, final, t0, t0 + 250));
    await ok("POST", "/api/batch", { ops });

    const res = await api.server.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    families = parseMetrics(res.body);
  }, 120_000);
  afterAll(() => api?.close());

  it("counts the database's flow runs by flow and state exactly as the API lists them", async () => {
    const listed: { flowName: string; state: { name: string } }[] = [];
    let cursor: string | undefined;
    do {
      const page = (await api.call("GET", `/api/flow-runs?limit=500${cursor ? `&cursor=${cursor}` : ""}`)).body;
      listed.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const byApi = new Map<string, number>();
    for (const run of listed) byApi.set(`${run.flowName}/${run.state.name}`, (byApi.get(`${run.flowName}/${run.state.name}`) ?? 0) + 1);
    const byMetrics = new Map(samplesOf(families, "baton_flow_runs").map((s) => [`${s.labels.flow}/${s.labels.state}`, s.value]));
    expect(byMetrics).toEqual(byApi);
    // The spread is real: every flow in every state.
    for (const flow of FLOWS) for (const state of ENDS) expect(byApi.get(`${flow}/${state}`), `${flow}/${state}`).toBeGreaterThan(0);
    expect(byApi.get("etl/Scheduled")).toBe(4);
  });

  it("counts the transitions this server saw, and agrees with the database on the runs that ended", () => {
    for (const flow of FLOWS)
      for (const state of ["Completed", "Failed", "Cancelled"]) {
        const ended = valueOf(families, "baton_flow_runs", { flow, state });
        expect(ended, `${flow} ${state}`).toBeGreaterThan(0);
        expect(valueOf(families, "baton_flow_run_transitions_total", { flow, state }), `${flow} ${state}`).toBe(ended);
      }
    // Every run made through this server was created once (Pending), and the ones that ran started once.
    expect(valueOf(families, "baton_flow_run_transitions_total", { flow: "etl", state: "Pending" })).toBe(5);
    for (const flow of FLOWS) {
      const ran = ["Running", "Completed", "Failed"].reduce((n, state) => n + (valueOf(families, "baton_flow_runs", { flow, state }) ?? 0), 0);
      expect(valueOf(families, "baton_flow_run_transitions_total", { flow, state: "Running" }), flow).toBe(ran);
      // Durations of the runs that ran to an end (a Cancelled run never started has none).
      for (const state of ["Completed", "Failed"]) expect(valueOf(families, "baton_flow_run_duration_seconds_count", { flow, state }), `${flow} ${state}`).toBe(valueOf(families, "baton_flow_runs", { flow, state }));
    }
    expect(valueOf(families, "baton_flow_run_pickup_latency_seconds_count", { work_pool: "gpu" })).toBe(1);
    const pickup = valueOf(families, "baton_flow_run_pickup_latency_seconds_sum", { work_pool: "gpu" })!;
    expect(pickup).toBeCloseTo(2, 1);
  });

  it("reads each work queue's depth and lateness, workers online and slots in use from the database", () => {
    expect(valueOf(families, "baton_work_queue_scheduled_runs", { work_pool: "gpu", work_queue: "default" })).toBe(2);
    expect(valueOf(families, "baton_work_queue_due_runs", { work_pool: "gpu", work_queue: "default" })).toBe(2);
    expect(valueOf(families, "baton_work_queue_scheduled_runs", { work_pool: "gpu", work_queue: "urgent" })).toBe(2);
    expect(valueOf(families, "baton_work_queue_due_runs", { work_pool: "gpu", work_queue: "urgent" })).toBe(1);
    const lateness = valueOf(families, "baton_work_queue_lateness_seconds", { work_pool: "gpu", work_queue: "default" })!;
    expect(lateness).toBeGreaterThanOrEqual(60);
    expect(lateness).toBeLessThan(180);
    expect(valueOf(families, "baton_workers_online", { work_pool: "gpu" })).toBe(1);
    expect(valueOf(families, "baton_concurrency_slots", { limit: "db" })).toBe(5);
    expect(valueOf(families, "baton_concurrency_slots_in_use", { limit: "db" })).toBe(2);
  });

  it("counts task runs by state from the database, and the ended ones of the batches it applied", () => {
    expect(valueOf(families, "baton_task_runs", { state: "Completed" })).toBe(3);
    expect(valueOf(families, "baton_task_runs", { state: "Running" })).toBe(1);
    expect(valueOf(families, "baton_task_runs_ended_total", { state: "COMPLETED" })).toBe(3);
    expect(valueOf(families, "baton_task_runs_ended_total", { state: "FAILED" })).toBe(1);
    expect(valueOf(families, "baton_task_run_duration_seconds_count", { state: "COMPLETED" })).toBe(3);
    expect(valueOf(families, "baton_task_run_duration_seconds_sum", { state: "COMPLETED" })).toBeCloseTo(0.75, 5);
  });

  it("times API requests by route pattern and status, store commits, and Node's process", () => {
    const routes = new Set(samplesOf(families, "baton_http_request_duration_seconds_count").map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code}`));
    expect(routes).toContain("POST /api/flow-runs/:id/set-state 200");
    expect(routes).toContain("POST /api/flow-runs 201");
    expect(valueOf(families, "baton_http_request_duration_seconds_count", { route: "/api/flow-runs/:id/set-state" })).toBeGreaterThanOrEqual(18);
    // Bounded labels: no run's id anywhere.
    const labels = families.flatMap((f) => f.samples).flatMap((s) => Object.values(s.labels));
    for (const id of made) expect(labels).not.toContain(id);
    expect(labels.some((l) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(l))).toBe(false);
    expect(valueOf(families, "baton_store_commit_duration_seconds_count", { kind: "transaction" })).toBeGreaterThan(18);
    expect(valueOf(families, "baton_store_commit_duration_seconds_count", { kind: "batch" })).toBe(1);
    expect(families.find((f) => f.name === "nodejs_eventloop_lag_seconds")?.type).toBe("gauge");
    expect(valueOf(families, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("feeds every panel of docs/grafana/baton-dashboard.json, an importable dashboard", () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, "docs/grafana/baton-dashboard.json"), "utf8"));
    expect(dashboard).toMatchObject({ title: expect.any(String), uid: expect.any(String), schemaVersion: expect.any(Number), panels: expect.any(Array) });
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" })]);
    const scraped = new Set(families.flatMap((f) => f.samples.map((s) => s.name)));
    // Worker metrics are each worker's own scrape (test/e2e/worker-metrics.test.ts checks those names).
    const workerMetric = /^baton_worker_/;
    let targets = 0;
    const ids = new Set<number>();
    for (const panel of dashboard.panels as any[]) {
      expect(panel, JSON.stringify(panel).slice(0, 200)).toMatchObject({ id: expect.any(Number), type: expect.any(String), title: expect.any(String), gridPos: { x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) } });
      expect(ids.has(panel.id), `panel id ${panel.id} twice`).toBe(false);
      ids.add(panel.id);
      if (panel.type === "row") continue;
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${DS_PROMETHEUS}" });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        targets++;
        const names = [...String(target.expr).matchAll(/\b(baton_[a-z0-9_]+|nodejs_[a-z0-9_]+|process_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(workerMetric.test(name) ? WORKER_METRICS : scraped, `${panel.title}: ${name}`).toContain(name);
      }
    }
    expect(targets).toBeGreaterThan(10);
  });

  it("stays out of the OpenAPI document", async () => {
    const doc = (await api.call("GET", "/api/openapi.json")).body;
    expect(Object.keys(doc.paths)).not.toContain("/metrics");
  });
});

describe("GET /metrics with authentication on", () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await apiHarness("sqlite", { auth: true, automationService: false });
  });
  afterAll(() => api?.close());

  it("needs a credential (401), and a role or grant holding metrics:read (403 without)", async () => {
    const credentials = new KyselyCredentialStore(api.store);
    const key = async (role: "worker" | "viewer", grants?: "metrics:read"[]) => (await createApiKey(credentials, { name: `${role}-${newId()}`, role, ...(grants ? { grants } : {}) }, null)).key;
    const scrape = (bearer?: string) => api.server.app.inject({ method: "GET", url: "/metrics", headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    const anonymous = await scrape();
    expect(anonymous.statusCode).toBe(401);
    const worker = await scrape(await key("worker"));
    expect(worker.statusCode).toBe(403);
    expect(JSON.parse(worker.body).error.message).toMatch(/GET \/metrics needs .* \(the route needs the permission metrics:read\)/);
    for (const allowed of [await key("viewer"), await key("worker", ["metrics:read"])]) {
      const res = await scrape(allowed);
      expect(res.statusCode).toBe(200);
      expect(parseMetrics(res.body).some((f) => f.name === "baton_flow_runs")).toBe(true);
    }
  });
});
