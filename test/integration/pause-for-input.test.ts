/**
 * Pausing a flow run for input, on SQLite and PostgreSQL: the engine on the database, the API
 * through a server on the same database. A deployment's run is suspended (its flow function
 * unwinds, the run is Paused with its request) and runs again from the start once resumed —
 * tasks finished before the pause are not run again, and `pauseFlowRun` returns the input. A
 * run outside a work pool waits in place. Timeouts fail the run or take the default.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { configure, flow, pauseFlowRun, shutdown, task, type Flow } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { resumeFlowRun as runClaimed } from "../../src/engine/flow-runner.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { resumePausedFlowRun } from "../../src/services/resume-flow-run.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";

describe.each(DIALECTS)("pausing for input on %s", (dialect) => {
  let api: ApiHarness;
  let orchestration: KyselyOrchestrationStore;
  let resultsDir: string;
  const executions = new Map<string, number>();
  const count = (name: string) => executions.set(name, (executions.get(name) ?? 0) + 1);

  beforeAll(async () => {
    api = await apiHarness(dialect, { pauseCheckMs: 100, automationService: { evaluateMs: 50, actionMs: 50, actionBackoffMs: 20, actionBackoffMaxMs: 100, actionAttempts: 3 } });
    resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-pause-"));
    process.env.BATON_TEST_PAUSE_POLL_MS = "50";
    // Short heartbeats: a run learns of a pause from outside on its next beat.
    await configure({ databaseUrl: api.url, resultsDir, logLevel: "silent", heartbeatMs: 100 });
    orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertWorkPool({ name: "gate" });
  });
  afterAll(async () => {
    await shutdown();
    await api.close();
    fs.rmSync(resultsDir, { recursive: true, force: true });
  });

  const train = task(async function train(params: { tag: string }) {
    count(`train-${params.tag}`);
    return { model: `m-${params.tag}` };
  });
  const Approval = z.object({ approve: z.boolean(), note: z.string().default("none") });

  const promote = flow(async function promote(params: { tag: string }) {
    const { model } = await train(params);
    const answer = await pauseFlowRun({ input: Approval, description: `Promote ${model}?` });
    count(`after-pause-${params.tag}`);
    return { model, ...answer };
  });

  /** A run of the `gate` pool as a worker gets it: created Scheduled, then claimed. */
  async function deploymentRun(f: Flow<any, any>, parameters: Record<string, unknown>): Promise<string> {
    const id = newId();
    await api.store.createFlowRun({
      id, flowName: f.flowName, name: "gated", parentFlowRunId: null, parentTaskRunId: null, parameters, tags: [], version: null,
      workPool: "gate", workQueue: "default", entrypoint: `/flows.ts:${f.flowName}`, state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
    });
    return id;
  }

  /** What a worker does: claim the pool's due runs and run this one in this process. */
  async function workerRuns(f: Flow<any, any>, id: string) {
    const claimed = await orchestration.claimFlowRuns("gate", "w1", 10, Date.now());
    expect(claimed.map((r) => r.id)).toContain(id);
    return runClaimed(await getRuntime(), { fn: f.fn, options: f.options, entrypoint: f.entrypoint }, id, { claimedBy: "w1" });
  }

  it("suspends a deployment's run with its request; bad input is refused naming the field; good input resumes it without re-running finished tasks", async () => {
    const id = await deploymentRun(promote, { tag: "a" });
    const first = await workerRuns(promote, id);
    expect(first.state.name).toBe("Paused");
    const paused = (await api.store.getFlowRun(id))!;
    expect(paused).toMatchObject({ state: { type: "PAUSED", message: "Promote m-a?" }, workerId: null });
    expect(executions.get("after-pause-a")).toBeUndefined();

    const request = await api.call("GET", `/api/flow-runs/${id}/input-request`);
    expect(request.status).toBe(200);
    expect(request.body).toMatchObject({ key: "pause-1", description: "Promote m-a?", timeoutAt: null, suppliedAt: null });
    expect(request.body.schema).toMatchObject({ type: "object", properties: { approve: { type: "boolean" } }, required: ["approve"] });

    // Invalid input: 400 naming the field, nothing changes.
    const bad = await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { approve: "yes" } });
    expectError(bad, 400, /input\.approve must be boolean/);
    expect(bad.body.error.code).toBe("INVALID_INPUT");
    const missing = await api.call("POST", `/api/flow-runs/${id}/resume`, { input: {} });
    expectError(missing, 400, /input\.approve is required/);
    expect((await api.store.getFlowRun(id))!.state).toEqual(paused.state);
    expect((await api.store.getFlowRunInput(id, "pause-1"))!.suppliedAt).toBeNull();

    const resumed = await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { approve: true } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.state).toMatchObject({ name: "Scheduled" });
    // Resuming twice: the run waits for nothing now.
    expectError(await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { approve: true } }), 409, /not Paused/);

    const second = await workerRuns(promote, id);
    expect(second.state.name).toBe("Completed");
    expect(second.result).toEqual({ model: "m-a", approve: true, note: "none" });
    expect(executions.get("train-a")).toBe(1);
    expect(executions.get("after-pause-a")).toBe(1);
    expect((await api.store.getFlowRunInput(id, "pause-1"))).toMatchObject({ input: { approve: true, note: "none" }, suppliedBy: "api" });
    const history = (await api.store.stateHistory(id)).map((s) => s.name);
    expect(history).toEqual(["Scheduled", "Pending", "Running", "Paused", "Scheduled", "Pending", "Running", "Completed"]);
  });

  it("several pauses in one flow each keep their answer (call order or explicit keys)", async () => {
    const twoGates = flow(async function twoGates() {
      const a = await pauseFlowRun({ input: z.object({ n: z.number() }) });
      await train({ tag: "between" });
      const b = await pauseFlowRun({ input: z.object({ s: z.string() }), key: "second-gate" });
      return { a, b };
    });
    const id = await deploymentRun(twoGates, {});
    expect((await workerRuns(twoGates, id)).state.name).toBe("Paused");
    await resumePausedFlowRun(api.store, id, { n: 1 }, { by: "cli" });
    expect((await workerRuns(twoGates, id)).state.name).toBe("Paused");
    expect((await api.call("GET", `/api/flow-runs/${id}/input-request`)).body.key).toBe("second-gate");
    // A form shown for the first pause does not answer the second.
    expectError(await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { n: 2 }, key: "pause-1" }), 409, /waits for the input of pause "second-gate"/);
    await resumePausedFlowRun(api.store, id, { s: "x" }, { by: "cli" });
    const done = await workerRuns(twoGates, id);
    expect(done.result).toEqual({ a: { n: 1 }, b: { s: "x" } });
    expect(executions.get("train-between")).toBe(1);
  });

  it("a timeout fails the run, or takes the default", async () => {
    const strict = flow(async function strictGate() {
      return pauseFlowRun({ input: z.object({ ok: z.boolean() }), timeoutMs: 200 });
    });
    const lenient = flow(async function lenientGate() {
      return pauseFlowRun({ input: z.object({ ok: z.boolean() }), timeoutMs: 200, default: { ok: false } });
    });
    const a = await deploymentRun(strict, {});
    expect((await workerRuns(strict, a)).state.name).toBe("Paused");
    const b = await deploymentRun(lenient, {});
    expect((await workerRuns(lenient, b)).state.name).toBe("Paused");
    await expect.poll(async () => (await api.store.getFlowRun(a))!.state.name, { timeout: 5000 }).toBe("Failed");
    expect((await api.store.getFlowRun(a))!.error).toMatchObject({ name: "PauseTimeoutError", message: expect.stringMatching(/nobody resumed it before/) });
    await expect.poll(async () => (await api.store.getFlowRun(b))!.state.name, { timeout: 5000 }).toBe("Scheduled");
    expect(await api.store.getFlowRunInput(b, "pause-1")).toMatchObject({ input: { ok: false }, suppliedBy: "timeout default" });
    expect((await workerRuns(lenient, b)).result).toEqual({ ok: false });
  });

  it("a run outside a work pool waits in place and goes on when resumed", async () => {
    const local = flow(async function localGate() {
      const before = await train({ tag: "local" });
      const { n } = await pauseFlowRun({ input: z.object({ n: z.number().int() }), description: "pick n" });
      return `${before.model}:${n}`;
    });
    const outcome = local.run();
    const id = await expect
      .poll(async () => (await api.store.listFlowRuns({ flowName: "localGate" }))[0], { timeout: 5000 })
      .toMatchObject({ state: { name: "Paused" } })
      .then(async () => (await api.store.listFlowRuns({ flowName: "localGate" }))[0]!.id);
    expectError(await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { n: 1.5 } }), 400, /input\.n must be integer/);
    expect((await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { n: 7 } })).status).toBe(200);
    expect(await outcome).toMatchObject({ state: { name: "Completed" }, result: "m-local:7" });
    expect(executions.get("train-local")).toBe(1);
  });

  it("a run waiting in place fails when its own timeout passes, and ends Cancelled when cancelled", async () => {
    const waiting = flow(async function impatientGate() {
      return pauseFlowRun({ timeoutMs: 150 });
    });
    expect(await waiting.run()).toMatchObject({ state: { name: "Failed" }, error: { name: "PauseTimeoutError" } });
    const cancelled = flow(async function cancelledGate() {
      return pauseFlowRun({});
    });
    const outcome = cancelled.run();
    await expect.poll(async () => (await api.store.listFlowRuns({ flowName: "cancelledGate" }))[0]?.state.name, { timeout: 5000 }).toBe("Paused");
    const [run] = await api.store.listFlowRuns({ flowName: "cancelledGate" });
    expect((await api.call("POST", `/api/flow-runs/${run!.id}/cancel`)).status).toBe(200);
    expect((await outcome).state.name).toBe("Cancelled");
  });

  it("a run paused from outside (the dashboard's Pause) stops, stays Paused, and once resumed runs on without re-running finished tasks", async () => {
    const step = task(async function step(i: number) {
      count(`step-${i}`);
      await new Promise((r) => setTimeout(r, 150));
      return i;
    });
    const long = flow(async function longSteps() {
      let total = 0;
      for (let i = 0; i < 20; i++) total += await step(i);
      return total;
    });
    const id = await deploymentRun(long, {});
    const first = workerRuns(long, id);
    await expect.poll(() => executions.get("step-2") ?? 0, { timeout: 5000 }).toBe(1);
    const paused = await api.call("POST", `/api/flow-runs/${id}/pause`, { key: "dashboard", schema: null, description: "paused from the dashboard", timeoutAt: null });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const outcome = await first;
    expect(outcome.state.name).toBe("Paused");
    const stopped = executions.get("step-19") ?? 0;
    expect(stopped).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect((await api.store.getFlowRun(id))!.state.name).toBe("Paused");
    const ranBefore = [...executions.keys()].filter((k) => k.startsWith("step-")).length;
    await resumePausedFlowRun(api.store, id, {}, { by: "api" });
    const done = await workerRuns(long, id);
    expect(done).toMatchObject({ state: { name: "Completed" }, result: 190 });
    // Steps that completed before the pause ran once; the one stopped mid-way ran again.
    expect(executions.get("step-0")).toBe(1);
    expect(executions.get("step-1")).toBe(1);
    expect(executions.get("step-19")).toBe(1);
    expect([...executions.entries()].filter(([k, n]) => k.startsWith("step-") && n > 1).length).toBeLessThanOrEqual(1);
    expect(ranBefore).toBeGreaterThanOrEqual(3);
  });

  it("an automation resumes a paused run with templated input", async () => {
    const autoGate = flow(async function autoGate() {
      return pauseFlowRun({ input: z.object({ approve: z.boolean(), note: z.string() }) });
    });
    const spec = {
      name: "auto-approve",
      trigger: { event: "baton.flow-run.Paused", match: { related: [{ role: "flow", name: "autoGate" }] } },
      actions: [{ type: "resume-flow-run", input: { approve: true, note: "{{ event.event }}" } }],
    };
    expect((await api.call("POST", "/api/automations", spec)).status).toBe(201);
    const id = await deploymentRun(autoGate, {});
    expect((await workerRuns(autoGate, id)).state.name).toBe("Paused");
    await expect.poll(async () => (await api.store.getFlowRun(id))!.state.name, { timeout: 10_000 }).toBe("Scheduled");
    expect(await api.store.getFlowRunInput(id, "pause-1")).toMatchObject({ input: { approve: true, note: "baton.flow-run.Paused" }, suppliedBy: "automation auto-approve" });
    expect((await workerRuns(autoGate, id)).result).toEqual({ approve: true, note: "baton.flow-run.Paused" });
  });

  it("refuses to resume a run that does not wait for input, and pauseFlowRun outside a flow", async () => {
    const id = await deploymentRun(promote, { tag: "z" });
    expectError(await api.call("POST", `/api/flow-runs/${id}/resume`, { input: {} }), 409, /is Scheduled, not Paused/);
    expectError(await api.call("GET", `/api/flow-runs/${id}/input-request`), 409, /not Paused/);
    expectError(await api.call("POST", `/api/flow-runs/${newId()}/resume`, { input: {} }), 404, /was not found/);
    await expect(pauseFlowRun()).rejects.toThrow(/needs a running flow/);
    await api.store.deleteFlowRun(id);
  });
});
