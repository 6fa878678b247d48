/**
 * What POST /api/batch refuses before writing anything: forced transitions without an admin key,
 * references to task runs and results that do not exist or belong to another flow run, and
 * history rows that do not record a transition of the batch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { buildServer, type BatonServer } from "../../src/server/app.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";

describe.each(DIALECTS)("batch checks on %s", (dialect) => {
  let api: ApiHarness;
  let guarded: BatonServer;
  let runId: string;
  let otherRunId: string;
  const WORKER = { authorization: "Bearer worker-secret-1" };
  const ADMIN = { authorization: "Bearer admin-secret-1" };

  beforeAll(async () => {
    api = await apiHarness(dialect);
    guarded = await buildServer({ store: api.store, apiKeys: ["admin:admin-secret-1", "worker:worker-secret-1"] });
    // A worker's run: worker keys may report on it.
    runId = (await claimedFlowRun(api.store, "batch-checks")).id;
    otherRunId = (await api.call("POST", "/api/flow-runs", { flowName: "batch-checks" })).body.id;
  });
  afterAll(async () => {
    await guarded.close();
    await api.close();
  });

  const asRole = async (headers: Record<string, string>, payload: unknown) => {
    const res = await guarded.app.inject({ method: "POST", url: "/api/batch", payload: payload as object, headers });
    return { status: res.statusCode, body: res.json() };
  };
  const completed = async (fields: { resultId?: string | null } = {}) => {
    const op = taskRunOp(runId, { state: makeState("Completed") });
    const ops: unknown[] = [];
    if (fields.resultId) ops.push({ kind: "result", result: { id: fields.resultId, serializer: "devalue/1", value: "[1]", path: null, size: 3, createdAt: Date.now() } });
    const done = { ...op, taskRun: { ...op.taskRun, resultId: fields.resultId ?? null } };
    // Created Pending, Running, then Completed, in one batch.
    const t = op.taskRun.state.timestamp;
    const pending = { ...op, taskRun: { ...op.taskRun, state: makeState("Pending", { timestamp: t - 2 }) } };
    const running = { ...op, taskRun: { ...op.taskRun, state: makeState("Running", { timestamp: t - 1 }) } };
    const res = await api.call("POST", "/api/batch", { ops: [pending, stateOp(pending), running, stateOp(running), ...ops, done, stateOp(done)] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return done;
  };

  it("lets only an admin force a transition, except re-running a task run whose result was not persisted", async () => {
    const withResult = await completed({ resultId: newId() });
    const rerun = { ...withResult, force: true, taskRun: { ...withResult.taskRun, resultId: null, state: makeState("Pending", { message: "forced" }) } };
    const refused = await asRole(WORKER, { ops: [rerun, stateOp(rerun)] });
    expectError(refused, 403, /body\.ops\.0\.taskRun\.force: forcing a transition needs an admin API key/);
    expect((await api.call("GET", `/api/task-runs/${withResult.taskRun.id}`)).body.state.name).toBe("Completed");
    expect((await asRole(ADMIN, { ops: [rerun, stateOp(rerun)] })).status).toBe(200);
    expect((await api.call("GET", `/api/task-runs/${withResult.taskRun.id}`)).body.state.name).toBe("Pending");

    // The engine's own forced re-run of a Completed task run without a stored result is allowed.
    const unpersisted = await completed();
    const again = { ...unpersisted, force: true, taskRun: { ...unpersisted.taskRun, state: makeState("Pending", { message: "re-running: its result was not persisted" }) } };
    expect((await asRole(WORKER, { ops: [again, stateOp(again)] })).status).toBe(200);
    // ...but not to any other state.
    const unpersisted2 = await completed();
    const toFailed = { ...unpersisted2, force: true, taskRun: { ...unpersisted2.taskRun, state: makeState("Failed") } };
    expectError(await asRole(WORKER, { ops: [toFailed, stateOp(toFailed)] }), 403, /needs an admin API key/);
  });

  it("refuses references to task runs and results that do not exist, naming the field", async () => {
    const { call } = api;
    const ghost = newId();
    expectError(await call("POST", "/api/batch", { ops: [{ kind: "log", log: { flowRunId: runId, taskRunId: ghost, level: 30, message: "x", timestamp: 1 } }] }), 404, new RegExp(`body\\.ops\\.0\\.log\\.taskRunId: task run ${ghost} was not found`));
    const op = taskRunOp(runId);
    expectError(await call("POST", "/api/batch", { ops: [op, stateOp(op), { kind: "dependency", dependency: { taskRunId: op.taskRun.id, upstreamTaskRunId: ghost, kind: "data" } }] }), 404, /body\.ops\.2\.dependency\.upstreamTaskRunId: task run .* was not found/);
    expectError(await call("POST", "/api/batch", { ops: [op, stateOp(op), { kind: "cache", entry: { cacheKey: "k", resultId: ghost, taskRunId: op.taskRun.id, expiresAt: null, createdAt: 1 } }] }), 404, /body\.ops\.2\.cache\.resultId: result .* was not found/);
    const withGhostResult = { ...op, taskRun: { ...op.taskRun, resultId: ghost } };
    expectError(await call("POST", "/api/batch", { ops: [withGhostResult, stateOp(withGhostResult)] }), 404, /body\.ops\.0\.taskRun\.resultId: result .* was not found/);
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}`)).status).toBe(404);

    // A stored task run of another flow run: found, but not this flow run's.
    const theirs = taskRunOp(otherRunId);
    expect((await call("POST", "/api/batch", { ops: [theirs, stateOp(theirs)] })).status).toBe(200);
    expectError(await call("POST", "/api/batch", { ops: [{ kind: "log", log: { flowRunId: runId, taskRunId: theirs.taskRun.id, level: 30, message: "x", timestamp: 1 } }] }), 409, new RegExp(`belongs to flow run ${otherRunId}, not ${runId}`));
    const hijack = { ...theirs, taskRun: { ...theirs.taskRun, flowRunId: runId, state: makeState("Running") } };
    expectError(await call("POST", "/api/batch", { ops: [hijack] }), 409, /body\.ops\.0\.taskRun\.flowRunId: task run .* belongs to flow run/);

    // References to stored task runs and results (not in the batch) are fine.
    const done = await completed({ resultId: newId() });
    const next = taskRunOp(runId);
    const res = await call("POST", "/api/batch", {
      ops: [
        next,
        stateOp(next),
        { kind: "dependency", dependency: { taskRunId: next.taskRun.id, upstreamTaskRunId: done.taskRun.id, kind: "data" } },
        { kind: "cache", entry: { cacheKey: "stored", resultId: done.taskRun.resultId, taskRunId: done.taskRun.id, expiresAt: null, createdAt: 1 } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("accepts history rows only for transitions of the batch's task runs, with a name of their type", async () => {
    const { call } = api;
    const op = taskRunOp(runId);
    const row = stateOp(op);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, type: "EXPLODED" } }] }), 400, /body\.ops\.1\.state\.type must be one of/);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, name: "Bogus" } }] }), 400, /body\.ops\.1\.state\.name must be one of/);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, type: "COMPLETED" } }] }), 400, /state name Pending is not of type COMPLETED/);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, taskRunId: null } }] }), 400, /taskRunId is required: a batch records task-run transitions/);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, name: "Completed", type: "COMPLETED" } }] }), 409, /Completed at \d+ is not a transition of task run/);
    expectError(await call("POST", "/api/batch", { ops: [op, { ...row, state: { ...row.state, flowRunId: otherRunId } }] }), 409, /belongs to flow run .*, not/);
    expectError(await call("POST", "/api/batch", { ops: [{ ...row, state: { ...row.state, taskRunId: newId() } }] }), 404, /body\.ops\.0\.state\.taskRunId: task run .* was not found/);
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}`)).status).toBe(404);
    expect((await call("POST", "/api/batch", { ops: [op, row] })).status).toBe(200);
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}/states`)).body.map((s: any) => s.name)).toEqual(["Pending"]);
  });

  it("remembers the flow runs created and deleted here and the results its batches stored", async () => {
    const { call } = api;
    // Created, then deleted before its first batch: the batch is refused, not written.
    const gone = (await call("POST", "/api/flow-runs", { flowName: "batch-checks" })).body.id;
    expect((await call("DELETE", `/api/flow-runs/${gone}`)).status).toBe(204);
    const orphan = taskRunOp(gone);
    expectError(await call("POST", "/api/batch", { ops: [orphan, stateOp(orphan)] }), 404, new RegExp(`flow run ${gone} was not found`));
    expect((await call("GET", `/api/task-runs/${orphan.taskRun.id}`)).status).toBe(404);
    // A flow run completes with a result that a batch of this server stored.
    const run = (await call("POST", "/api/flow-runs", { flowName: "batch-checks" })).body.id;
    const resultId = newId();
    const result = { kind: "result", result: { id: resultId, serializer: "devalue/1", value: "[2]", path: null, size: 3, createdAt: Date.now() } };
    expect((await call("POST", "/api/batch", { ops: [result] })).status).toBe(200);
    expect((await call("POST", `/api/flow-runs/${run}/set-state`, { state: { name: "Running" } })).status).toBe(200);
    const done = await call("POST", `/api/flow-runs/${run}/set-state`, { state: { name: "Completed" }, resultId });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.resultId).toBe(resultId);
  });
});
