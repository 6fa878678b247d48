/** Ids a request refers to must exist: an unknown one is a 404 naming the field, and nothing is written. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { newId } from "../../src/core/ids.ts";

describe.each(DIALECTS)("references on %s", (dialect) => {
  let api: ApiHarness;
  let runId: string;
  let otherRunId: string;
  let taskRunId: string;

  beforeAll(async () => {
    api = await apiHarness(dialect);
    runId = (await api.call("POST", "/api/flow-runs", { flowName: "refs" })).body.id;
    otherRunId = (await api.call("POST", "/api/flow-runs", { flowName: "refs" })).body.id;
    const op = taskRunOp(otherRunId);
    expect((await api.call("POST", "/api/batch", { ops: [op, stateOp(op)] })).status).toBe(200);
    taskRunId = op.taskRun.id;
  });
  afterAll(() => api.close());

  it("checks a new flow run's parent and deployment", async () => {
    const { call } = api;
    const ghost = newId();
    expectError(await call("POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: ghost }), 404, new RegExp(`body\\.parentFlowRunId: flow run ${ghost} was not found`));
    expectError(await call("POST", "/api/flow-runs", { flowName: "child", deploymentId: ghost }), 404, new RegExp(`body\\.deploymentId: deployment ${ghost} was not found`));
    expect((await call("GET", "/api/flow-runs?flow=child")).body.items).toHaveLength(0);
    const child = await call("POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: runId });
    expect(child.status).toBe(201);
    expect(child.body.parentFlowRunId).toBe(runId);
  });

  it("checks the result a flow run completes with", async () => {
    const { call } = api;
    await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" } });
    const ghost = newId();
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Completed" }, resultId: ghost }), 404, new RegExp(`body\\.resultId: result ${ghost} was not found`));
    expect((await call("GET", `/api/flow-runs/${runId}`)).body.state.name).toBe("Running");
  });

  it("checks the flow run and task run of logs and artifacts", async () => {
    const { call } = api;
    const ghost = newId();
    expectError(await call("GET", `/api/logs?flowRunId=${ghost}`), 404, new RegExp(`querystring\\.flowRunId: flow run ${ghost} was not found`));
    const line = { flowRunId: runId, level: 30, message: "x", timestamp: Date.now() };
    expectError(await call("POST", "/api/logs", { logs: [line, { ...line, taskRunId: ghost }] }), 404, new RegExp(`body\\.logs\\.1\\.taskRunId: task run ${ghost} was not found`));
    expectError(await call("POST", "/api/logs", { logs: [{ ...line, taskRunId }] }), 409, new RegExp(`body\\.logs\\.0\\.taskRunId: task run ${taskRunId} belongs to flow run ${otherRunId}`));
    expect((await call("GET", `/api/logs?flowRunId=${runId}`)).body.items).toHaveLength(0);
    expect((await call("POST", "/api/logs", { logs: [{ ...line, flowRunId: otherRunId, taskRunId }] })).status).toBe(202);

    const artifact = { id: newId(), type: "markdown", data: "# x", flowRunId: runId };
    expectError(await call("POST", "/api/artifacts", { ...artifact, taskRunId: ghost }), 404, new RegExp(`body\\.taskRunId: task run ${ghost} was not found`));
    expectError(await call("POST", "/api/artifacts", { ...artifact, taskRunId }), 409, /belongs to flow run/);
    expect((await call("GET", `/api/artifacts?flowRunId=${runId}`)).body.items).toHaveLength(0);
  });
});
