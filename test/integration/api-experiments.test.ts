/**
 * The experiment-tracking API's refusals, on SQLite and PostgreSQL: a body that does not match
 * the schema, a value that is not finite, a parameter that is not JSON text, an unknown run, a
 * task run of another flow run — each a 4xx naming the field, and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, taskRunOp, type ApiHarness } from "../support/api.ts";
import type { FlowRun } from "../../src/store/types.ts";

describe.each(DIALECTS)("experiments API on %s", (dialect) => {
  let api: ApiHarness;
  let run: FlowRun;
  let other: FlowRun;
  beforeAll(async () => {
    api = await apiHarness(dialect);
    run = await claimedFlowRun(api.store, "exp-flow");
    other = await claimedFlowRun(api.store, "exp-other");
  });
  afterAll(() => api.close());

  const entry = (fields: Record<string, unknown> = {}) => ({ flowRunId: run.id, taskRunId: null, experiment: "exp", params: { depth: "3" }, metrics: [{ name: "loss", step: 0, value: 0.5, timestamp: 1 }], ...fields });

  it("records values, then lists, compares and draws them", async () => {
    expect((await api.call("POST", "/api/run-values", { entries: [entry()] })).status).toBe(204);
    expect((await api.call("GET", "/api/experiments")).body.items).toEqual([expect.objectContaining({ name: "exp", runs: 1 })]);
    const runs = (await api.call("GET", "/api/experiments/exp/runs")).body.items;
    expect(runs).toEqual([expect.objectContaining({ runId: run.id, params: { depth: 3 }, metrics: { loss: { last: 0.5, lastStep: 0, min: 0.5, max: 0.5, steps: 1 } } })]);
    expect((await api.call("GET", `/api/experiments/compare?runs=${run.id}`)).body.items).toHaveLength(1);
    expect((await api.call("GET", `/api/runs/${run.id}/metrics`)).body).toEqual({ runId: run.id, metrics: { loss: [{ step: 0, value: 0.5, timestamp: 1 }] } });
  });

  it("refuses bad bodies with a 4xx naming the field, storing nothing", async () => {
    expectError(await api.call("POST", "/api/run-values", { entries: [] }), 400, /entries/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ metrics: [{ name: "loss", step: -1, value: 1, timestamp: 1 }] })] }), 400, /step/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ metrics: [{ name: "loss", step: 0, value: "1", timestamp: 1 }] })] }), 400, /value/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ params: { depth: "{not json" } })] }), 400, /body\.entries\.0\.params\.depth must be JSON text/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ experiment: "" })] }), 400, /experiment/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ flowRunId: "0193aaaa-0000-7000-8000-000000000000" })] }), 404, /flow run 0193aaaa/);
    const op = taskRunOp(other.id);
    await api.store.applyWrites([op]);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ taskRunId: op.taskRun.id })] }), 409, /belongs to flow run/);
    expectError(await api.call("POST", "/api/run-values", { entries: [entry({ taskRunId: "0193aaaa-0000-7000-8000-000000000001" })] }), 404, /body\.entries\.0\.taskRunId: task run/);
    expect((await api.call("GET", "/api/experiments")).body.items).toEqual([expect.objectContaining({ name: "exp", runs: 1 })]);
  });

  it("reads: unknown runs and bad queries are 4xx", async () => {
    expectError(await api.call("GET", "/api/experiments/compare?runs="), 400, /runs/);
    expectError(await api.call("GET", `/api/experiments/compare?runs=${Array.from({ length: 51 }, (_, i) => `r${i}`).join(",")}`), 400, /1 to 50 run ids/);
    expectError(await api.call("GET", `/api/experiments/compare?runs=${run.id},nope`), 404, /nope logged no parameters/);
    expectError(await api.call("GET", "/api/runs/nope/metrics"), 404, /run nope logged no parameters/);
    expectError(await api.call("GET", "/api/experiments/exp/runs?limit=0"), 400, /limit/);
    expect((await api.call("GET", "/api/experiments/none/runs")).body.items).toEqual([]);
  });
});
