/**
 * `GET /api/usage` (on SQLite and PostgreSQL): runs with known resources in a pool with known
 * prices give cost = resources × prices; waste counts failed runs and retried attempts; failFast's
 * cancellations give their estimated savings; every group_by; bad queries and prices are 400s
 * naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeState } from "../../src/core/states.ts";
import type { RunResources } from "../../src/core/resources.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, taskRunOp, type ApiHarness } from "../support/api.ts";

const H = 3_600_000;
const res = (wallMs: number, cpuMs: number, retried: Partial<RunResources> = {}): RunResources => ({
  wallMs,
  cpuUserMs: cpuMs - Math.floor(cpuMs / 6),
  cpuSystemMs: Math.floor(cpuMs / 6),
  peakMemoryBytes: 1 << 20,
  retriedWallMs: 0,
  retriedCpuMs: 0,
  ...retried,
});

describe.each(DIALECTS)("usage API on %s", (dialect) => {
  let api: ApiHarness;
  const ids: Record<string, string> = {};

  async function finishedRun(name: string, flowName: string, end: "Completed" | "Failed", resources: RunResources, extra: { workPool?: string; tags?: string[] } = {}): Promise<string> {
    const run = (await api.call("POST", "/api/flow-runs", { flowName, state: "Pending", ...extra })).body;
    expect((await api.call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } })).status).toBe(200);
    const done = await api.call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: end }, resources });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.resources).toEqual(resources);
    ids[name] = run.id;
    return run.id;
  }

  beforeAll(async () => {
    api = await apiHarness(dialect);
    const pool = await api.call("POST", "/api/work-pools", { name: "priced", costPerHour: 2, costPerCpuHour: 0.5, costPerGpuHour: 4, gpus: 1, currency: "USD" });
    expect(pool.status, JSON.stringify(pool.body)).toBe(201);
    await finishedRun("a", "etl", "Completed", res(H / 2, H), { workPool: "priced", tags: ["a", "b"] });
    await finishedRun("b", "etl", "Failed", res(H / 10, H / 10), { workPool: "priced", tags: ["a"] });
    const c = await finishedRun("c", "ml", "Completed", res(H, 0));
    const d = await finishedRun("d", "ml", "Failed", res(60_000, 0));
    // Task runs as the engine writes them: one Completed with a retried attempt, and in the
    // failed run the same key cancelled by failFast after 4 s of its expected 10 s.
    const done = taskRunOp(c, { taskKey: "train-0", state: makeState("Completed"), runCount: 2 });
    done.taskRun.resources = res(10_000, 8_000, { retriedWallMs: 2_000, retriedCpuMs: 1_000 });
    const cancelled = taskRunOp(d, { taskKey: "train-0", state: makeState("Cancelled", { message: "failFast: task run x (train-1) failed" }), runCount: 1 });
    cancelled.taskRun.resources = res(4_000, 3_000);
    const other = taskRunOp(d, { taskKey: "other-0", state: makeState("Cancelled", { message: "stopped because the flow run ended" }) });
    await api.store.applyWrites([done, cancelled, other]);
  });
  afterAll(() => api.close());

  it("prices each run at its pool's prices and counts waste and failFast's savings", async () => {
    const { status, body } = await api.call("GET", "/api/usage?group_by=flow&since=1d");
    expect(status, JSON.stringify(body)).toBe(200);
    // a: 0.5 h × 2 + 1 CPU h × 0.5 + 0.5 h × 1 GPU × 4 = 3.5; b: 0.1 × 2 + 0.1 × 0.5 + 0.1 × 4 = 0.65
    expect(body.total.runs).toBe(4);
    expect(body.total.byState).toEqual({ Completed: 2, Failed: 2 });
    expect(body.total.cost.USD).toBeCloseTo(4.15, 9);
    expect(body.total.wastedCost.USD).toBeCloseTo(0.65, 9);
    expect(body.total.wallHours).toBeCloseTo(0.5 + 0.1 + 1 + 60_000 / H, 9);
    expect(body.total.cpuHours).toBeCloseTo(1.1, 9);
    // Failed runs whole, and the retried attempt of the task in a run that completed.
    expect(body.total.wastedWallHours).toBeCloseTo(0.1 + 60_000 / H + 2_000 / H, 9);
    expect(body.total.wastedCpuHours).toBeCloseTo(0.1 + 1_000 / H, 9);
    expect(body.total.failFastCancelled).toBe(1);
    expect(body.total.savedWallHoursEstimate).toBeCloseTo(6_000 / H, 9);
    const today = new Date().toISOString().slice(0, 10);
    expect(body.days.map((d: { day: string }) => d.day)).toEqual([today]);
    const byFlow = Object.fromEntries(body.groups.map((g: { key: string }) => [g.key, g]));
    expect(byFlow.etl).toMatchObject({ runs: 2, byState: { Completed: 1, Failed: 1 } });
    expect(byFlow.etl.cost.USD).toBeCloseTo(4.15, 9);
    expect(byFlow.ml).toMatchObject({ runs: 2, cost: {}, failFastCancelled: 1 });
  });

  it("groups by tag (a run under each tag, counted once in the total), pool and deployment", async () => {
    const tags = (await api.call("GET", "/api/usage?group_by=tag&since=2d")).body;
    const byTag = Object.fromEntries(tags.groups.map((g: { key: string | null; runs: number }) => [String(g.key), g.runs]));
    expect(byTag).toEqual({ a: 2, b: 1, null: 2 });
    expect(tags.total.runs).toBe(4);
    expect(tags.total.cost.USD).toBeCloseTo(4.15, 9);
    const pools = (await api.call("GET", `/api/usage?group_by=pool&since=${new Date(Date.now() - H).toISOString()}`)).body;
    expect(Object.fromEntries(pools.groups.map((g: { key: string | null; runs: number }) => [String(g.key), g.runs]))).toEqual({ priced: 2, null: 2 });
    const deployments = (await api.call("GET", "/api/usage?group_by=deployment")).body;
    expect(deployments.groups).toHaveLength(1);
    expect(deployments.groups[0]).toMatchObject({ key: null, runs: 4 });
  });

  it("leaves out runs that ended before the window", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { status, body } = await api.call("GET", "/api/usage?since=1s");
    expect(status).toBe(200);
    expect(body.total.runs).toBe(0);
    expect(body.days).toEqual([]);
    expect(body.groups).toEqual([]);
  });

  it("refuses a bad group_by, since or price with a 400 naming it", async () => {
    expectError(await api.call("GET", "/api/usage?group_by=colour"), 400, /group_by/);
    expectError(await api.call("GET", "/api/usage?since=yesterday"), 400, /since/);
    expectError(await api.call("GET", "/api/usage?since=2999-01-01"), 400, /since must be in the past/);
    expectError(await api.call("GET", "/api/usage?since=400d"), 400, /since must be at most 366 days/);
    expectError(await api.call("GET", "/api/usage?bogus=1"), 400, /bogus/);
    expectError(await api.call("POST", "/api/work-pools", { name: "neg", costPerHour: -1 }), 400, /costPerHour/);
    expectError(await api.call("POST", "/api/work-pools", { name: "cur", currency: "usd" }), 400, /currency/);
  });
});
