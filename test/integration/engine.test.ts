/**
 * The engine through the public API, against real SQLite, real PostgreSQL, and a real server
 * through the API client (remote mode): the assertions read the runtime's own store, so on
 * "remote" they hold the API client to what the database stores do (a contract test).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  exponentialBackoff,
  flow,
  FlowRunError,
  getRunContext,
  getRunLogger,
  NonRetryableError,
  task,
  unmapped,
} from "../../src/index.ts";
import type { RunStore } from "../../src/store/types.ts";
import { configureEngine, ENGINE_BACKENDS, type EngineDatabase } from "../support/engine.ts";
import fs from "node:fs";
import path from "node:path";

describe.each(ENGINE_BACKENDS)("engine on %s", (backend) => {
  let engine: EngineDatabase;
  let store: RunStore;
  let resultsDir: string | null;

  beforeAll(async () => {
    engine = await configureEngine(backend);
    ({ store, resultsDir } = engine);
  });

  afterAll(() => engine.close());

  const names = (history: { name: string }[]) => history.map((s) => s.name);

  it("runs tasks, records every state, result and dependency", async () => {
    const load = task(async function load(n: number) {
      return Array.from({ length: n }, (_, i) => i);
    });
    const total = task(async function total(rows: number[], factor: number) {
      return rows.reduce((a, b) => a + b, 0) * factor;
    });
    const pick = task(async function pick(values: number[]) {
      return Math.max(...values);
    });
    const after = task(async function after() {
      return "done";
    });
    const pipeline = flow(async function basicPipeline(params: { n: number; factors: number[] }) {
      const rows = await load(params.n);
      const totals = total.map(unmapped(rows), params.factors);
      const best = pick.submit(totals);
      const tail = after.with({ waitFor: [best] }).submit();
      return { best: await best, tail: await tail };
    });
    const run = await pipeline.run({ n: 5, factors: [1, 2, 3] });
    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual({ best: 30, tail: "done" });

    const flowRun = (await store.getFlowRun(run.id))!;
    expect(flowRun.flowName).toBe("basicPipeline");
    expect(flowRun.parameters).toEqual({ n: 5, factors: [1, 2, 3] });
    expect(flowRun.state.name).toBe("Completed");
    expect(flowRun.startTime).not.toBeNull();
    expect(flowRun.endTime).not.toBeNull();
    expect(names(await store.stateHistory(run.id))).toEqual(["Pending", "Running", "Completed"]);

    const taskRuns = await store.listTaskRuns(run.id);
    expect(taskRuns.map((t) => t.taskKey).sort()).toEqual(["after-0", "load-0", "pick-0", "total-0", "total-1", "total-2"]);
    for (const t of taskRuns) {
      expect(t.state.name).toBe("Completed");
      expect(names(await store.stateHistory(t.id))).toEqual(["Pending", "Running", "Completed"]);
      expect(t.resultId).not.toBeNull();
    }
    const byKey = new Map(taskRuns.map((t) => [t.taskKey, t]));
    const deps = await store.listDependencies(run.id);
    const pickDeps = deps.filter((d) => d.taskRunId === byKey.get("pick-0")!.id);
    expect(pickDeps.map((d) => d.upstreamTaskRunId).sort()).toEqual(["total-0", "total-1", "total-2"].map((k) => byKey.get(k)!.id).sort());
    expect(pickDeps.every((d) => d.kind === "data")).toBe(true);
    // A value passed on directly (await load(), then total(rows)) is traced to its producer.
    for (const key of ["total-0", "total-1", "total-2"])
      expect(deps.filter((d) => d.taskRunId === byKey.get(key)!.id).map((d) => d.upstreamTaskRunId)).toEqual([byKey.get("load-0")!.id]);
    expect(deps.filter((d) => d.taskRunId === byKey.get("after-0")!.id)).toEqual([
      { taskRunId: byKey.get("after-0")!.id, upstreamTaskRunId: byKey.get("pick-0")!.id, kind: "wait" },
    ]);
  });

  it("retries a task with delays, hooks and the AwaitingRetry/Retrying history", async () => {
    let calls = 0;
    const retried: number[] = [];
    const flaky = task(
      async function flaky() {
        calls++;
        if (calls < 3) throw new Error(`transient ${calls}`);
        return getRunContext()!.taskRun!.attempt;
      },
      { retries: 3, retryDelayMs: [5, 10], onRetry: (ctx) => void retried.push(ctx.attempt) },
    );
    const f = flow(async function retryFlow() {
      return flaky();
    });
    const run = await f.run();
    expect(run.state.name).toBe("Completed");
    expect(run.result).toBe(3);
    expect(retried).toEqual([1, 2]);
    const [taskRun] = await store.listTaskRuns(run.id);
    expect(taskRun!.runCount).toBe(3);
    const history = await store.stateHistory(taskRun!.id);
    expect(names(history)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"]);
    expect(history[2]!.message).toBe("transient 1");
    expect(history[2]!.scheduledAt).toBeGreaterThan(0);
  });

  it("stops retrying on NonRetryableError and when retryIf says no", async () => {
    let a = 0;
    let b = 0;
    const fatal = task(
      async function fatal() {
        a++;
        throw new NonRetryableError("bad credentials");
      },
      { retries: 5 },
    );
    const picky = task(
      async function picky() {
        b++;
        throw new Error("404");
      },
      { retries: 5, retryIf: (error) => !(error as Error).message.includes("404") },
    );
    const f1 = flow(async function nonRetryableFlow() {
      await fatal();
    });
    const f2 = flow(async function retryIfFlow() {
      await picky();
    });
    const r1 = await f1.run();
    const r2 = await f2.run();
    expect([a, b]).toEqual([1, 1]);
    expect(r1.state.name).toBe("Failed");
    expect(r1.error?.message).toContain("bad credentials");
    expect(r2.state.name).toBe("Failed");
  });

  it("times out a task (TimedOut, signal aborted) and keeps the user error's message and stack", async () => {
    let sawAbort = false;
    const slow = task(
      async function slow() {
        const signal = getRunContext()!.signal;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 5_000);
          signal.addEventListener("abort", () => {
            sawAbort = true;
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      },
      { timeoutMs: 50 },
    );
    const f = flow(async function timeoutFlow() {
      await slow();
    });
    const run = await f.run();
    expect(run.state.name).toBe("Failed");
    expect(sawAbort).toBe(true);
    const [taskRun] = await store.listTaskRuns(run.id);
    expect(taskRun!.state.name).toBe("TimedOut");
    expect(taskRun!.error?.message).toMatch(/timed out after 50 ms/);

    const broken = task(async function broken() {
      throw new RangeError("depth must be positive");
    });
    const f2 = flow(async function brokenFlow() {
      await broken();
    });
    await expect(f2()).rejects.toBeInstanceOf(FlowRunError);
    const [failed] = await store.listFlowRuns({ flowName: "brokenFlow" });
    const [brokenRun] = await store.listTaskRuns(failed!.id);
    expect(brokenRun!.error?.name).toBe("RangeError");
    expect(brokenRun!.error?.message).toBe("depth must be positive");
    expect(brokenRun!.error?.stack).toContain("engine.test.ts");
  });

  it("caches by inputs across flow runs and honours expiry", async () => {
    let computed = 0;
    const square = task(
      async function cachedSquare(x: number) {
        computed++;
        return x * x;
      },
      { cacheKey: "inputs" },
    );
    const f = flow(async function cacheFlow(params: { xs: number[] }) {
      return Promise.all(square.map(params.xs));
    });
    expect(await f({ xs: [2, 3] })).toEqual([4, 9]);
    expect(computed).toBe(2);
    const second = await f.run({ xs: [2, 3, 4] });
    expect(second.result).toEqual([4, 9, 16]);
    expect(computed).toBe(3);
    const states = (await store.listTaskRuns(second.id)).map((t) => t.state.name).sort();
    expect(states).toEqual(["Cached", "Cached", "Completed"]);

    let expiring = 0;
    const short = task(
      async function shortLived(x: number) {
        expiring++;
        return x;
      },
      // Long enough that a loaded machine (every commit fsynced) still runs the second call in time.
      { cacheKey: (ctx) => `k${String(ctx.args[0])}`, cacheExpiresMs: 2000 },
    );
    const g = flow(async function expiryFlow() {
      return short(1);
    });
    await g();
    await g();
    expect(expiring).toBe(1);
    await new Promise((r) => setTimeout(r, 2050));
    await g();
    expect(expiring).toBe(2);
  });

  it("validates parameters with zod: an invalid run fails without running a task", async () => {
    let ran = 0;
    const t = task(async function paramTask(n: number) {
      ran++;
      return n;
    });
    const f = flow(
      async function paramFlow(params: { n: number; label: string }) {
        return t(params.n);
      },
      { params: z.object({ n: z.coerce.number().int().positive(), label: z.string().default("x") }) },
    );
    const bad = await f.run({ n: -1 } as never);
    expect(bad.state.name).toBe("Failed");
    expect(bad.state.message).toMatch(/invalid parameters for flow "paramFlow"/);
    expect(bad.state.message).toMatch(/n/);
    expect(ran).toBe(0);
    expect(await store.listTaskRuns(bad.id)).toEqual([]);
    const good = await f.run({ n: "4" } as never);
    expect(good.result).toBe(4);
    expect((await store.getFlowRun(good.id))!.parameters).toEqual({ n: 4, label: "x" });
    await expect(f.run("nope" as never)).rejects.toThrow(TypeError);
  });

  it("resumes a failed run: finished tasks return stored results without running again", async () => {
    const counts = { a: 0, b: 0, c: 0 };
    let failC = true;
    const a = task(async function stepA() {
      counts.a++;
      return { at: new Date("2026-01-02T03:04:05Z"), tags: new Set(["x"]), big: 12345678901234567890n, m: new Map([[1, "one"]]) };
    });
    const b = task(async function stepB(input: { at: Date }) {
      counts.b++;
      return input.at.getUTCFullYear();
    });
    const c = task(async function stepC(year: number) {
      counts.c++;
      if (failC) throw new Error("disk full");
      return year + 1;
    });
    const f = flow(async function resumable() {
      const first = await a();
      expect(first.at).toBeInstanceOf(Date);
      expect(first.tags).toBeInstanceOf(Set);
      expect(first.big).toBe(12345678901234567890n);
      expect(first.m.get(1)).toBe("one");
      const year = await b(first);
      return c(year);
    });
    const failed = await f.run();
    expect(failed.state.name).toBe("Failed");
    expect(counts).toEqual({ a: 1, b: 1, c: 1 });
    failC = false;
    const resumed = await f.resume(failed.id);
    expect(resumed.id).toBe(failed.id);
    expect(resumed.state.name).toBe("Completed");
    expect(resumed.result).toBe(2027);
    expect(counts).toEqual({ a: 1, b: 1, c: 2 });
    const run = (await store.getFlowRun(failed.id))!;
    expect(run.runCount).toBe(2);
    expect(names(await store.stateHistory(failed.id))).toEqual(["Pending", "Running", "Failed", "Pending", "Running", "Completed"]);
    const cRun = (await store.listTaskRuns(failed.id)).find((t) => t.taskKey === "stepC-0")!;
    expect(names(await store.stateHistory(cRun.id))).toEqual(["Pending", "Running", "Failed", "Pending", "Running", "Completed"]);
    // Resuming a completed run returns its stored result.
    expect((await f.resume(failed.id)).result).toBe(2027);
    await expect(f.resume("00000000-0000-0000-0000-000000000000")).rejects.toThrow(/was not found/);
  });

  it("flow retries re-run only unfinished tasks", async () => {
    let first = 0;
    let second = 0;
    const one = task(async function retryOne() {
      first++;
      return 1;
    });
    const two = task(async function retryTwo() {
      second++;
      if (second === 1) throw new Error("flaky dependency");
      return 2;
    });
    const f = flow(
      async function flowWithRetries() {
        return (await one()) + (await two());
      },
      { retries: 1, retryDelayMs: 5 },
    );
    const run = await f.run();
    expect(run.result).toBe(3);
    expect([first, second]).toEqual([1, 2]);
    expect(names(await store.stateHistory(run.id))).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
  });

  it("fails a dependent whose upstream failed, naming the upstream", async () => {
    const up = task(async function upstreamBoom(): Promise<number> {
      throw new Error("boom");
    });
    const down = task(async function downstream(x: number) {
      return x;
    });
    const f = flow(async function upstreamFlow() {
      const u = up.submit();
      const d = down.submit(u);
      await d.wait();
      return d.state().name;
    });
    const run = await f.run();
    expect(run.result).toBe("Failed");
    const downRun = (await store.listTaskRuns(run.id)).find((t) => t.taskName === "downstream")!;
    expect(downRun.state.message).toMatch(/upstream task run "upstreamBoom"/);
  });

  it("links child flow runs to their parent, stores logs and captured prints", async () => {
    const child = flow(async function childFlow(params: { x: number }) {
      getRunLogger().info("child got %d", params.x);
      return params.x * 2;
    });
    const noisy = task(async function noisy() {
      getRunLogger().warn("careful");
      console.log("printed from a task");
      return 1;
    });
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const parent = flow(
      async function parentFlow() {
        await noisy();
        return child({ x: 21 });
      },
      { logPrints: true },
    );
    const run = await parent.run();
    spy.mockRestore();
    expect(run.result).toBe(42);
    const [childRun] = await store.listFlowRuns({ parentFlowRunId: run.id });
    expect(childRun!.flowName).toBe("childFlow");
    expect(childRun!.state.name).toBe("Completed");
    const childLogs = await store.listLogs({ flowRunId: childRun!.id });
    expect(childLogs.map((l) => l.message)).toContain("child got 21");
    const logs = await store.listLogs({ flowRunId: run.id });
    const noisyRun = (await store.listTaskRuns(run.id))[0]!;
    expect(logs.find((l) => l.message === "careful")).toMatchObject({ level: 40, taskRunId: noisyRun.id });
    expect(logs.find((l) => l.message === "printed from a task")).toMatchObject({ level: 30, taskRunId: noisyRun.id });
    expect(logs.some((l) => l.message.startsWith("Beginning flow run"))).toBe(true);
  });

  it("bounds concurrency with maxConcurrency", async () => {
    let active = 0;
    let peak = 0;
    const work = task(async function boundedWork(i: number) {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return i;
    });
    const f = flow(
      async function boundedFlow() {
        return (await Promise.all(work.map([...Array(20).keys()]))).length;
      },
      { maxConcurrency: 3 },
    );
    expect(await f()).toBe(20);
    expect(peak).toBe(3);
  });

  it("runs a task called by a task under its parent's slot: no deadlock when every slot is a parent", async () => {
    const limit = 3;
    let active = 0;
    let peak = 0;
    const inner = task(async function innerStep(i: number) {
      await new Promise((r) => setTimeout(r, 5));
      return i * 2;
    });
    const outer = task(async function outerStep(i: number) {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      const [a, b] = await Promise.all([inner(i), inner.submit(i + 1)]);
      active--;
      return a + b;
    });
    const f = flow(
      async function nestedBoundedFlow() {
        return Promise.all(outer.map([...Array(limit * 2).keys()]));
      },
      { maxConcurrency: limit },
    );
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("deadlocked: the nested task runs never got a slot")), 10_000)));
    const run = await Promise.race([f.run(), stalled]).finally(() => clearTimeout(timer));
    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual([...Array(limit * 2).keys()].map((i) => 4 * i + 2));
    expect(peak).toBe(limit); // the outer task runs still share the flow's slots
    const taskRuns = await store.listTaskRuns(run.id);
    expect(taskRuns.filter((t) => t.taskName === "innerStep")).toHaveLength(limit * 4);
    expect(taskRuns.every((t) => t.state.name === "Completed")).toBe(true);
  });

  it("fails a task whose result cannot be stored, and stores large results as files", async () => {
    const bad = task(async function unstorable() {
      return { fn: () => 1 };
    });
    const f = flow(async function unstorableFlow() {
      await bad();
    });
    const run = await f.run();
    expect(run.state.name).toBe("Failed");
    const [t] = await store.listTaskRuns(run.id);
    expect(t!.state.message).toMatch(/the result of task "unstorable" cannot be stored at value\.fn/);

    const big = task(async function bigResult() {
      return new Float64Array(20_000).fill(1.5);
    });
    let failOnce = true;
    const g = flow(async function bigFlow() {
      const arr = await big();
      if (failOnce) {
        failOnce = false;
        throw new Error("after big");
      }
      return arr.length + arr[0]!;
    });
    const failed = await g.run();
    const [bigRun] = await store.listTaskRuns(failed.id);
    const record = (await store.getResult(bigRun!.resultId!))!;
    // Remote: results travel to the server inline (a file here would be out of its reach).
    if (resultsDir === null) expect(record).toMatchObject({ value: expect.any(String), path: null });
    else {
      expect(record.value).toBeNull();
      expect(record.path).toMatch(/^[0-9a-f]{64}\.json$/);
      // The default storage: the results folder on SQLite, the database on PostgreSQL.
      expect(fs.existsSync(path.join(resultsDir, record.path!))).toBe(store.dialect === "sqlite");
    }
    expect((await g.resume(failed.id)).result).toBe(20_001.5);
  });

  it("runs a task called outside a flow as a plain function, with a warning", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const plain = task(
      async function plainCall(x: number) {
        return x + 1;
      },
      { name: `plainCall-${backend}` },
    );
    expect(await plain(1)).toBe(2);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`task "plainCall-${backend}" was called outside a flow`), "BatonWarning");
    warn.mockRestore();
    expect(() => plain.submit(1)).toThrow(/outside a flow/);
  });

  // Database stores only: the test writes Running states whose heartbeats are in the past, and a
  // server records its own clock for every heartbeat (the one its crash detector reads).
  it.skipIf(backend === "remote")("marks Crashed, in chunks, every run that missed its heartbeats — and only those", async () => {
    const { makeState } = await import("../../src/core/states.ts");
    const { newId } = await import("../../src/core/ids.ts");
    const ids: string[] = [];
    for (let i = 0; i < 450; i++) {
      const run = await store.createFlowRun({ id: newId(), flowName: "stale", name: `s${i}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
      await store.setFlowRunState(run.id, makeState("Running", { timestamp: Date.now() - 10_000 }), { heartbeatMs: i === 0 ? 60_000 : 100 });
      ids.push(run.id);
    }
    const crashed = await store.crashStaleFlowRuns(Date.now());
    expect(new Set(crashed)).toEqual(new Set(ids.slice(1))); // the first promised a 60 s heartbeat
    expect((await store.getFlowRun(ids[1]!))!.state).toMatchObject({ name: "Crashed", message: expect.stringMatching(/no heartbeat since/) });
    expect((await store.getFlowRun(ids[0]!))!.state.name).toBe("Running");
    expect(await store.crashStaleFlowRuns(Date.now())).toEqual([]);
  });

  it("stores artifacts of runs, validating their shape", async () => {
    const { createArtifact } = await import("../../src/index.ts");
    const report = task(async function report() {
      await createArtifact({ type: "markdown", key: "report", data: "# Done" });
      await expect(createArtifact({ type: "table", data: "nope" })).rejects.toThrow(/array of row objects/);
    });
    const f = flow(async function artifactFlow() {
      await report();
      await createArtifact({ type: "link", data: { url: "https://example.org/model", title: "model card" } });
    });
    const run = await f.run();
    expect(run.state.name).toBe("Completed");
    const artifacts = await store.listArtifacts({ flowRunId: run.id });
    expect(artifacts.map((a) => a.type).sort()).toEqual(["link", "markdown"]);
    expect(artifacts.find((a) => a.type === "markdown")).toMatchObject({ key: "report", data: "# Done", taskRunId: expect.any(String) });
    await expect(createArtifact({ type: "markdown", data: "x" })).rejects.toThrow(/needs a running flow/);
  });

  it("an attempt that runs again publishes its artifacts in place of the earlier attempt's: task and flow retries, resume", async () => {
    const { createArtifact } = await import("../../src/index.ts");
    let flowCalls = 0;
    let taskCalls = 0;
    const report = task(
      async function rerunReport() {
        taskCalls++;
        await createArtifact({ type: "markdown", key: "task-report", data: `task attempt ${taskCalls}` });
        if (taskCalls === 1) throw new Error("the task fails once");
      },
      { retries: 1 },
    );
    const f = flow(
      async function rerunArtifacts() {
        flowCalls++;
        await createArtifact({ type: "markdown", key: "summary", data: `flow attempt ${flowCalls}` });
        await createArtifact({ type: "link", data: { url: `https://example.org/${flowCalls}` } });
        await report();
        if (flowCalls <= 2) throw new Error(`flow attempt ${flowCalls} fails`);
      },
      { retries: 1 },
    );
    // Attempt 1 (the task fails once, then passes) and its retry, attempt 2, fail; a resume passes.
    const run = await f.run();
    expect(run.state.name).toBe("Failed");
    expect((await f.resume(run.id)).state.name).toBe("Completed");
    expect([flowCalls, taskCalls]).toEqual([3, 2]);
    const artifacts = await store.listArtifacts({ flowRunId: run.id });
    expect(artifacts.map((a) => [a.key, a.data]).sort()).toEqual([
      [null, { url: "https://example.org/3" }],
      ["summary", "flow attempt 3"],
      ["task-report", "task attempt 2"],
    ]);
  });

  it("gives the run context to tasks and uses exponential backoff", async () => {
    let seen: unknown;
    const probe = task(
      async function probe() {
        const ctx = getRunContext()!;
        if (ctx.taskRun!.attempt === 1) throw new Error("again");
        seen = ctx;
        return ctx.taskRun!.taskKey;
      },
      { retries: 1, retryDelayMs: exponentialBackoff({ baseMs: 5, factor: 2, maxMs: 20 }), key: "the-probe" },
    );
    const f = flow(async function contextFlow(params: { tag: string }) {
      return probe();
    });
    const run = await f.run({ tag: "t" });
    expect(run.result).toBe("the-probe");
    expect(seen).toMatchObject({ flowRun: { id: run.id, flowName: "contextFlow", parameters: { tag: "t" } }, taskRun: { name: "probe", attempt: 2 } });
    expect(getRunContext()).toBeUndefined();
  });
});
