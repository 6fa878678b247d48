/**
 * Hostile input that used to reach the database (mostly PostgreSQL's stricter types) answers
 * 4xx with a message naming the problem, writes nothing, and the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";

describe.each(DIALECTS)("hostile input on %s", (dialect) => {
  let api: ApiHarness;
  let runId: string;

  beforeAll(async () => {
    api = await apiHarness(dialect);
    runId = (await api.call("POST", "/api/flow-runs", { flowName: "hostile" })).body.id;
    await api.call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" } });
  });
  afterAll(() => api.close());

  const log = (fields: Record<string, unknown>) => ({ kind: "log", log: { flowRunId: runId, taskRunId: null, level: 30, message: "x", timestamp: Date.now(), ...fields } });

  it("refuses fractional numbers where the database stores integers", async () => {
    const { call } = api;
    expectError(await call("GET", "/api/flow-runs?since=1.5"), 400, /querystring\.since must be integer/);
    expectError(await call("GET", "/api/flow-runs?until=1.5"), 400, /querystring\.until must be integer/);
    expectError(await call("GET", "/api/flow-runs?until=-1"), 400, /querystring\.until must be >= 0/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", timestamp: 1.5 } }), 400, /body\.state\.timestamp must be integer/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", scheduledAt: 1.5 } }), 400, /body\.state\.scheduledAt must be integer/);
    expectError(await call("POST", `/api/flow-runs/${runId}/heartbeat`, { at: 1.5 }), 400, /body\.at must be integer/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", scheduledAt: 1.5 }), 400, /body\.scheduledAt must be integer/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", scheduledAt: 1e300 }), 400, /body\.scheduledAt must be <=/);
    const cursor = Buffer.from("1.5:x").toString("base64url");
    expectError(await call("GET", `/api/flow-runs?cursor=${cursor}`), 400, /invalid cursor/);
    expectError(await call("GET", `/api/flow-runs?cursor=${Buffer.from("1:\u0000").toString("base64url")}`), 400, /invalid cursor/);
    expectError(await call("POST", "/api/batch", { ops: [log({ timestamp: 1.5 })] }), 400, /timestamp must be integer/);
    const op = taskRunOp(runId);
    expectError(await call("POST", "/api/batch", { ops: [{ ...op, taskRun: { ...op.taskRun, createdAt: 2.5 } }] }), 400, /createdAt must be integer/);
    expectError(await call("GET", `/api/logs?flowRunId=${runId}&afterId=1e30`), 400, /afterId must be <=/);
  });

  it("refuses integers out of the columns' range", async () => {
    const { call } = api;
    expectError(await call("POST", "/api/batch", { ops: [log({ level: 1e12 })] }), 400, /level must be <= 100/);
    expectError(await call("POST", "/api/batch", { ops: [taskRunOp(runId, { runCount: 1e12 })] }), 400, /runCount must be <= 2147483647/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" }, runCount: 3e9 }), 400, /body\.runCount must be <= 2147483647/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" }, heartbeatMs: 3e9 }), 400, /body\.heartbeatMs must be <= 2147483647/);
    expectError(await call("POST", "/api/logs", { logs: [{ flowRunId: runId, level: -1, message: "x", timestamp: 1 }] }), 400, /level must be >= 0/);
  });

  it("refuses NUL characters in names and ids, and keeps them out of stored free text", async () => {
    const { call } = api;
    expectError(await call("POST", "/api/flow-runs", { flowName: "bad\u0000name" }), 400, /body\.flowName contains a NUL character/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "ok", tags: ["fine"], name: "n\u0000" }), 400, /body\.name contains a NUL/);
    expectError(await call("GET", "/api/flow-runs?flow=a%00b"), 400, /NUL character/);
    expectError(await call("GET", "/api/flow-runs/a%00b"), 400, /NUL character/);
    expectError(await call("POST", "/api/batch", { ops: [taskRunOp(runId, { taskKey: "k\u0000" })] }), 400, /body\.ops\.0\.taskRun\.taskKey contains a NUL/);
    // An escaped backslash before "u0000" is not a NUL: accepted as is.
    expect((await call("POST", "/api/flow-runs", { flowName: "back\\u0000slash" })).status).toBe(201);

    // Free text (user code may log a NUL) is stored with U+FFFD instead.
    const op = taskRunOp(runId, { state: makeState("Pending", { message: "state\u0000message" }) });
    const res = await call("POST", "/api/batch", { ops: [op, stateOp(op), log({ message: "log\u0000line", taskRunId: op.taskRun.id, extra: { raw: "\u0000" } })] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const logs = (await call("GET", `/api/logs?flowRunId=${runId}`)).body.items;
    expect(logs.at(-1)).toMatchObject({ message: "log\uFFFDline", extra: { raw: "\u0000" } });
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}`)).body.state.message).toBe("state\uFFFDmessage");
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}/states`)).body[0].message).toBe("state\uFFFDmessage");
    const set = await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", message: "flow\u0000state" }, force: true });
    expect(set.body.state.message).toBe("flow\uFFFDstate");
  });

  it("answers 409 for duplicate keys, naming the record", async () => {
    const { call } = api;
    const artifact = { id: newId(), type: "markdown", data: "# hi", flowRunId: runId, createdAt: Date.now() };
    expect((await call("POST", "/api/artifacts", artifact)).status).toBe(201);
    expectError(await call("POST", "/api/artifacts", artifact), 409, new RegExp(`artifact ${artifact.id} already exists`));

    const first = taskRunOp(runId, { taskKey: "dup-0" });
    expect((await call("POST", "/api/batch", { ops: [first, stateOp(first)] })).status).toBe(200);
    const second = taskRunOp(runId, { taskKey: "dup-0" });
    const res = await call("POST", "/api/batch", { ops: [second, stateOp(second)] });
    expectError(res, 409, new RegExp(`flow run ${runId} already has task run ${first.taskRun.id} with task key "dup-0"`));
    expect((await call("GET", `/api/task-runs/${second.taskRun.id}`)).status).toBe(404);
    // Two new task runs with one key in the same batch.
    const a = taskRunOp(runId, { taskKey: "dup-1" });
    const b = taskRunOp(runId, { taskKey: "dup-1" });
    expectError(await call("POST", "/api/batch", { ops: [a, stateOp(a), b, stateOp(b)] }), 409, /task key "dup-1"/);
  });

  it("is still up", async () => {
    expect((await api.call("GET", "/api/health")).status).toBe(200);
    expect((await api.call("GET", `/api/flow-runs/${runId}`)).status).toBe(200);
  });
});
