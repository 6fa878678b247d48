/**
 * Flow-run lifecycle through the API: creation in one transaction (a duplicate id is a 409 and
 * leaves nothing behind, also under concurrent requests) and deletion without orphans.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { newId } from "../../src/core/ids.ts";

describe.each(DIALECTS)("flow-run lifecycle on %s", (dialect) => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await apiHarness(dialect);
  });
  afterAll(() => api.close());

  it("creates a run, its flow and first state in one transaction: a duplicate id is a 409 and adds no flow", async () => {
    const { call } = api;
    const id = newId();
    expect((await call("POST", "/api/flow-runs", { id, flowName: "first-flow" })).status).toBe(201);
    expectError(await call("POST", "/api/flow-runs", { id, flowName: "never-created" }), 409, new RegExp(`flow run ${id} already exists`));
    expectError(await call("GET", "/api/flows/never-created"), 404, /flow never-created was not found/);
    expect((await call("GET", `/api/flow-runs/${id}/states`)).body).toHaveLength(1);
  });

  it("answers concurrent creations of one id with one 201 and 409s, never a 500", async () => {
    const id = newId();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => api.call("POST", "/api/flow-runs", { id, flowName: `racing-${i}` })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect((await api.call("GET", `/api/flow-runs/${id}/states`)).body).toHaveLength(1);
  });

  it("deletes a run with its artifacts and unlinks its children, in one go", async () => {
    const { call, store } = api;
    const parent = (await call("POST", "/api/flow-runs", { flowName: "parent" })).body;
    const op = taskRunOp(parent.id);
    expect((await call("POST", "/api/batch", { ops: [op, stateOp(op)] })).status).toBe(200);
    const child = (await call("POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: parent.id, parentTaskRunId: op.taskRun.id })).body;
    const artifact = { id: newId(), type: "markdown", data: "# report", flowRunId: parent.id, taskRunId: op.taskRun.id };
    expect((await call("POST", "/api/artifacts", artifact)).status).toBe(201);
    await call("POST", "/api/logs", { logs: [{ flowRunId: parent.id, level: 30, message: "x", timestamp: Date.now() }] });

    expect((await call("DELETE", `/api/flow-runs/${parent.id}`)).status).toBe(204);
    expect(await store.listArtifacts({ flowRunId: parent.id })).toEqual([]);
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}`)).status).toBe(404);
    expectError(await call("GET", `/api/logs?flowRunId=${parent.id}`), 404, /was not found/);
    const orphan = (await call("GET", `/api/flow-runs/${child.id}`)).body;
    expect(orphan).toMatchObject({ parentFlowRunId: null, parentTaskRunId: null });
    expect((await call("GET", `/api/flow-runs?parent=${parent.id}`)).body.items).toEqual([]);
  });
});
