/**
 * How task runs end when their flow run ends early, and how flow retries and resumes pick up
 * task runs that an earlier attempt left behind — against real SQLite and real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sql } from "kysely";
import { configure, flow, getRunContext, getRunLogger, NonRetryableError, shutdown, task } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import type { RunStore, TaskRun, WriteOp } from "../../src/store/types.ts";
import { consoleOutput, createRunLogger, LOG_LEVELS } from "../../src/engine/run-logger.ts";
import type { Runtime } from "../../src/engine/runtime.ts";
import { isTerminal, makeState } from "../../src/core/states.ts";
import { decideTransition } from "../../src/core/transitions.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";
import { openStore } from "../../src/store/open.ts";
import { FileBlobStore } from "../../src/engine/file-blobs.ts";
import { ResultStore } from "../../src/engine/result-store.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const realOpen = fs.openSync.bind(fs);
const realFsync = fs.fsyncSync.bind(fs);
const names = (history: { name: string }[]) => history.map((s) => s.name);
const getRunContextId = () => getRunContext()!.flowRun.id;
const byKey = (runs: TaskRun[]) => Object.fromEntries(runs.map((t) => [t.taskKey, t.state.name]));

describe.each(DIALECTS)("task runs when their flow run ends, on %s", (dialect) => {
  let engine: EngineDatabase;
  let store: RunStore;

  beforeAll(async () => {
    engine = await configureEngine(dialect);
    ({ store } = engine);
  });

  afterAll(() => engine.close());

  it("ends tasks sleeping before a retry when the flow fails, retries the flow on the same rows, then resumes", async () => {
    let broken = true;
    const calls = new Map<number, number>();
    const item = task(
      async function fanItem(i: number) {
        calls.set(i, (calls.get(i) ?? 0) + 1);
        if (i === 4) return 40; // finishes in the first attempt: reused afterwards
        if (i === 0) {
          // Fails for good (no retry) once the others sleep before their retry.
          await new Promise((r) => setTimeout(r, 40));
          if (broken) throw new NonRetryableError("item 0 is broken");
          return 0;
        }
        if (broken) throw new Error(`item ${i} transient`);
        return i * 10;
      },
      { retries: 2, retryDelayMs: 400 },
    );
    const fan = flow(
      async function fanOutFlow() {
        return Promise.all(item.map([0, 1, 2, 3, 4]));
      },
      { retries: 1, retryDelayMs: 10 },
    );
    const failed = await fan.run();
    expect(failed.state.name).toBe("Failed");
    expect(failed.error?.message).toContain("item 0 is broken");
    expect(names(await store.stateHistory(failed.id))).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Failed"]);

    // One row per key across both attempts, every one of them in a final state.
    const runs = await store.listTaskRuns(failed.id);
    expect(runs.map((t) => t.taskKey).sort()).toEqual(["fanItem-0", "fanItem-1", "fanItem-2", "fanItem-3", "fanItem-4"]);
    for (const t of runs) expect(isTerminal(t.state.type), `${t.taskKey} ended ${t.state.name}`).toBe(true);
    expect(byKey(runs)).toMatchObject({ "fanItem-0": "Failed", "fanItem-4": "Completed" });
    const one = runs.find((t) => t.taskKey === "fanItem-1")!;
    expect(one.state.name).toBe("Cancelled");
    expect(one.state.message).toMatch(/stopped because the flow run ended: .*item 0 is broken/);
    // Each attempt: it slept (AwaitingRetry) and was stopped; the flow's retry used the same row.
    const sleptAndStopped = ["Pending", "Running", "AwaitingRetry", "Cancelled"];
    expect(names(await store.stateHistory(one.id))).toEqual([...sleptAndStopped, ...sleptAndStopped]);

    broken = false;
    const resumed = await fan.resume(failed.id);
    expect(resumed.state.name).toBe("Completed");
    expect(resumed.result).toEqual([0, 10, 20, 30, 40]);
    expect(calls.get(4)).toBe(1);
    const after = await store.listTaskRuns(failed.id);
    expect(after.map((t) => t.id).sort()).toEqual(runs.map((t) => t.id).sort());
    expect(Object.values(byKey(after))).toEqual(Array(5).fill("Completed"));
    expect(names(await store.stateHistory(one.id)).slice(8)).toEqual(["Pending", "Running", "Completed"]);
  });

  it("reuses child flow runs on resume: a completed child returns its stored result, a failed one resumes in place", async () => {
    const ran = { step: 0, train: 0, evaluate: 0 };
    let evaluateFails = true;
    const step = task(async function childStep(n: number) {
      ran.step++;
      return n * 10;
    });
    const train = flow(async function trainChild(params: { depth: number }) {
      ran.train++;
      return { model: `tree-${params.depth}`, score: await step(params.depth) };
    });
    const evaluate = flow(async function evaluateChild(params: { model: string }) {
      ran.evaluate++;
      const checked = await step(1);
      if (evaluateFails) throw new Error(`evaluation of ${params.model} failed`);
      return { model: params.model, checked };
    });
    const parent = flow(async function parentOfChildren() {
      // Two concurrent calls of one child flow: keys follow the call order, not the finish order.
      const models = await Promise.all([train({ depth: 8 }), train({ depth: 2 })]);
      return await evaluate({ model: models[0]!.model });
    });

    const first = await parent.run();
    expect(first.state.name).toBe("Failed");
    expect(ran).toEqual({ step: 3, train: 2, evaluate: 1 });
    const children = await store.listFlowRuns({ parentFlowRunId: first.id });
    expect(children.map((c) => `${c.flowName}:${c.state.name}`).sort()).toEqual(["evaluateChild:Failed", "trainChild:Completed", "trainChild:Completed"]);

    evaluateFails = false;
    const resumed = await parent.resume(first.id);
    expect(resumed.state.name).toBe("Completed");
    expect(resumed.result).toEqual({ model: "tree-8", checked: 10 });
    // The trained children were not run again; the evaluation resumed its own run, reusing its finished task.
    expect(ran).toEqual({ step: 3, train: 2, evaluate: 2 });
    const after = await store.listFlowRuns({ parentFlowRunId: first.id });
    expect(after.map((c) => c.id).sort()).toEqual(children.map((c) => c.id).sort());
    expect(after.find((c) => c.flowName === "evaluateChild")!.state.name).toBe("Completed");

    // A call whose parameters changed is a new child run, with a warning in the parent's logs.
    let depth = 3;
    let parentFails = true;
    const drifting = flow(async function driftingParent() {
      const model = await train({ depth });
      if (parentFails) throw new Error("parent failed after its child");
      return model;
    });
    const once = await drifting.run();
    expect(once.state.name).toBe("Failed");
    depth = 4;
    parentFails = false;
    const again = await drifting.resume(once.id);
    expect(again.result).toEqual({ model: "tree-4", score: 40 });
    expect(ran.train).toBe(4);
    expect((await store.listFlowRuns({ parentFlowRunId: once.id })).map((c) => c.parameters)).toEqual(expect.arrayContaining([{ depth: 3 }, { depth: 4 }]));
    const logs = await store.listLogs({ flowRunId: once.id });
    expect(logs.map((l) => l.message).join("\n")).toMatch(/child flow call trainChild-0 made run .* with other parameters; starting a new child run/);
  });

  it("stops a child flow run with its parent: the parent times out, the child and its task end Cancelled", async () => {
    const nap = task(async function childNap() {
      const { signal } = getRunContext()!;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 5_000);
        signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    });
    const child = flow(async function sleepyChild() {
      await nap();
    });
    const parent = flow(async function impatientParent() {
      await child();
    }, { timeoutMs: 300 });
    const started = Date.now();
    const outcome = await parent.run();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcome.state.name).toBe("TimedOut");
    const [run] = await store.listFlowRuns({ parentFlowRunId: outcome.id });
    expect(run!.state.name).toBe("Cancelled");
    expect(run!.state.message).toMatch(new RegExp(`its parent flow run ${outcome.id} stopped: .*`));
    const [napRun] = await store.listTaskRuns(run!.id);
    expect(napRun!.state.type).toBe("CANCELLED");
  });

  it("resumes a run whose task runs were left in any unfinished state", async () => {
    let ran = 0;
    const step = task(async function leftBehind(i: number) {
      ran++;
      return i;
    });
    const f = flow(async function leftBehindFlow() {
      return Promise.all(step.map([0, 1, 2, 3]));
    });
    const first = await f.run();
    expect(first.state.name).toBe("Completed");
    // Simulate an earlier attempt that lost track of its task runs (a refused write batch):
    // rows left Running, Pending, AwaitingRetry (due later) and Completed without a result.
    const runtime = await getRuntime();
    const [r0, r1, r2, r3] = (await store.listTaskRuns(first.id)).sort((a, b) => a.taskKey.localeCompare(b.taskKey));
    const left = (run: TaskRun, state: ReturnType<typeof makeState>, resultId: string | null = run.resultId) => ({
      kind: "taskRun" as const,
      taskRun: { ...run, state, resultId },
      force: true,
    });
    await runtime.store.applyWrites([
      left(r0!, makeState("Running")),
      left(r1!, makeState("Pending")),
      left(r2!, makeState("AwaitingRetry", { scheduledAt: Date.now() + 3_600_000 })),
      left(r3!, makeState("Completed"), null),
    ]);
    await runtime.store.setFlowRunState(first.id, makeState("Failed", { message: "simulated" }), { force: true });
    ran = 0;
    const resumed = await f.resume(first.id);
    expect(resumed.state.name, JSON.stringify(resumed.error)).toBe("Completed");
    expect(resumed.result).toEqual([0, 1, 2, 3]);
    expect(ran).toBe(4);
    const history = names(await store.stateHistory(r0!.id));
    expect(history.slice(-4)).toEqual(["Crashed", "Pending", "Running", "Completed"]);
    expect(names(await store.stateHistory(r2!.id)).slice(-4)).toEqual(["Crashed", "Pending", "Running", "Completed"]);
  });

  it("keeps a failed write of one flow run from failing another flow run batched with it", async () => {
    const runtime = await getRuntime();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slow = task(async function batchedStep(i: number) {
      await gate;
      return i;
    });
    const healthy = flow(async function healthyFlow() {
      return (await Promise.all(slow.map([1, 2, 3]))).length;
    });
    const spoiler = task(async function spoilWrite() {
      // A write the store refuses (its extra field cannot be encoded), posted like a log line.
      runtime.batcher.post([{ kind: "log", log: { flowRunId: getRunContextId(), taskRunId: null, level: 30, message: "x", timestamp: Date.now(), extra: { n: 1n } } }]);
      open();
      return "spoiled";
    });
    const broken = flow(async function spoilingFlow() {
      return spoiler();
    });
    const [good, bad] = await Promise.all([healthy.run(), broken.run()]);
    expect(good.state.name).toBe("Completed");
    expect(good.result).toBe(3);
    expect(Object.values(byKey(await store.listTaskRuns(good.id)))).toEqual(["Completed", "Completed", "Completed"]);
    expect(bad.state.name).toBe("Failed");
    expect(bad.error?.message).toMatch(/BigInt/);
    // The spoiling flow's own task run was stored: only the refused write was lost.
    expect(byKey(await store.listTaskRuns(bad.id))).toEqual({ "spoilWrite-0": "Completed" });
  });

  it("does not reuse a stored result under a key that now belongs to another task: runs it, with a warning", async () => {
    let failAfter = true;
    const ranB: number[] = [];
    const stepA = task(async function stepAOld() {
      return "from A";
    }, { key: "step" });
    const stepB = task(async function stepBNew() {
      ranB.push(1);
      return "from B";
    }, { key: "step" });
    const before = flow(async function changedFlow() {
      const value = await stepA();
      if (failAfter) throw new Error("a later step failed");
      return value;
    });
    const failed = await before.run();
    expect(failed.state.name).toBe("Failed");
    // The flow's code changes: the key "step" is now used by another task.
    failAfter = false;
    const after = flow(async function changedFlow() {
      return stepB();
    });
    const resumed = await after.resume(failed.id);
    expect(resumed).toMatchObject({ state: { name: "Completed" }, result: "from B" });
    expect(ranB).toHaveLength(1);
    const [row] = await store.listTaskRuns(failed.id);
    expect(row).toMatchObject({ taskKey: "step", taskName: "stepBNew", state: { name: "Completed" } });
    const history = await store.stateHistory(row!.id);
    expect(history.map((s) => s.name)).toEqual(["Pending", "Running", "Completed", "Pending", "Running", "Completed"]);
    expect(history[3]!.message).toBe('re-running: an earlier attempt ran task "stepAOld" under this key');
    const logs = await store.listLogs({ flowRunId: failed.id, minLevel: 40 });
    expect(logs.map((l) => l.message)).toContainEqual(expect.stringMatching(/Task key "step" belonged to task "stepAOld" .* now to "stepBNew": the flow's code changed/));
  });

  it("stores getRunLogger().debug lines with the run (trace stays on the console)", async () => {
    const chatty = task(async function chattyStep() {
      getRunLogger().debug("rows after filtering: %d", 42);
      getRunLogger().trace("very fine detail");
      return 1;
    });
    const f = flow(async function chattyFlow() {
      getRunLogger().debug("flow-level detail");
      return chatty();
    });
    const run = await f.run();
    const logs = await store.listLogs({ flowRunId: run.id });
    const taskRun = (await store.listTaskRuns(run.id))[0]!;
    expect(logs.find((l) => l.message === "rows after filtering: 42")).toMatchObject({ level: 20, taskRunId: taskRun.id });
    expect(logs.find((l) => l.message === "flow-level detail")).toMatchObject({ level: 20, taskRunId: null });
    expect(logs.some((l) => l.message === "very fine detail")).toBe(false);
  });

  it("resumes a run that was set Running from outside the engine (the API), reusing the task runs stored under it", async () => {
    const { newId } = await import("../../src/core/ids.ts");
    let calls = 0;
    const step = task(async function outsideStep(n: number) {
      calls++;
      return n + 1;
    });
    const f = flow(async function outsideFlow() {
      return (await step(1)) + (await step(10));
    });
    // What a client of the API may do: create the run, set it Running, report a finished task.
    const run = await store.createFlowRun({ id: newId(), flowName: "outsideFlow", name: "outside", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    expect((await store.setFlowRunState(run.id, makeState("Running"))).run.runCount).toBe(1);
    const runtime = await getRuntime();
    const result = runtime.results.prepare(2, "outsideStep-0").record;
    const done = makeState("Completed");
    await store.applyWrites([
      { kind: "result", result },
      { kind: "taskRun", taskRun: { id: newId(), flowRunId: run.id, taskKey: "outsideStep-0", taskName: "outsideStep", state: done, runCount: 1, cacheKey: null, resultId: result.id, error: null, tags: [], createdAt: Date.now(), startTime: Date.now(), endTime: Date.now() } },
    ]);
    await store.setFlowRunState(run.id, makeState("Failed", { message: "its client went away" }));
    const resumed = await f.resume(run.id);
    expect(resumed.state.name).toBe("Completed");
    expect(resumed.result).toBe(13);
    expect(calls).toBe(1); // only outsideStep-1 ran
    expect((await store.getFlowRun(run.id))!.runCount).toBe(2);
  });

  it("crashes every unfinished task run of a crashed flow run, as the rules allow, and no finished one", async () => {
    const { newId } = await import("../../src/core/ids.ts");
    const run = await store.createFlowRun({ id: newId(), flowName: "sweptFlow", name: "swept", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await store.setFlowRunState(run.id, makeState("Running", { timestamp: Date.now() - 10_000 }), { heartbeatMs: 100 });
    const states = {
      waiting: makeState("AwaitingRetry", { scheduledAt: Date.now() + 60_000 }),
      paused: makeState("Paused"),
      pending: makeState("Pending"),
      running: makeState("Running"),
      done: makeState("Completed"),
      failed: makeState("Failed", { message: "boom" }),
    };
    const ids: Record<string, string> = {};
    const ops = Object.entries(states).map(([key, state]) => {
      ids[key] = newId();
      const taskRun: TaskRun = { id: ids[key]!, flowRunId: run.id, taskKey: key, taskName: "swept", state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: Date.now(), startTime: null, endTime: null };
      return { kind: "taskRun" as const, taskRun };
    });
    await store.applyWrites(ops);
    expect(await store.crashStaleFlowRuns(Date.now(), { onlyId: run.id })).toEqual([run.id]);
    const after = byKey(await store.listTaskRuns(run.id));
    expect(after).toEqual({ waiting: "Crashed", paused: "Crashed", pending: "Crashed", running: "Crashed", done: "Completed", failed: "Failed" });
    // Each crash the sweep recorded is one the orchestration rules accept.
    for (const [key, before] of Object.entries(states)) {
      const history = await store.stateHistory(ids[key]!);
      if (after[key] !== "Crashed") expect(history).toEqual([]);
      else expect(decideTransition({ from: before, to: history.at(-1)! }).kind, key).toBe("accept");
    }
  });
});

describe("run loggers", () => {
  it("store debug lines but echo to the console only from the configured level", () => {
    const posted: WriteOp[] = [];
    const printed: string[] = [];
    const runtime = { batcher: { post: (ops: WriteOp[]) => posted.push(...ops) }, consoleLevel: LOG_LEVELS.info } as unknown as Runtime;
    const original = consoleOutput.write;
    consoleOutput.write = (line) => void printed.push(line);
    try {
      const logger = createRunLogger(runtime, { flowRunId: "f", taskRunId: null, label: "Flow run 'x'" });
      logger.trace("t");
      logger.debug("d");
      logger.info("i");
    } finally {
      consoleOutput.write = original;
    }
    expect(posted.map((op) => (op.kind === "log" ? `${op.log.level}:${op.log.message}` : op.kind))).toEqual(["20:d", "30:i"]);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/INFO .* - i$/);
  });
});

describe("durability of what a finished task leaves", () => {
  it("commits SQLite transactions with synchronous=FULL in WAL mode (a power loss keeps every commit)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-sync-"));
    const store = await openStore(`sqlite://${path.join(dir, "baton.db")}`);
    try {
      const { rows: sync } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      const { rows: journal } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      expect(sync[0]!.synchronous).toBe(2); // FULL; NORMAL (1) may lose the last commits
      expect(journal[0]!.journal_mode).toBe("wal");
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fsyncs a result file, then the directory holding its name, and any directory it had to create", async () => {
    /** The temporary name a result file is written under: its own name, a random part, .tmp. */
    const temporaryOf = (file: string) => new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.[0-9a-f]{12}\\.tmp$`);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "baton-fsync-"));
    const dir = path.join(root, "home", "results");
    const opened = new Map<number, string>();
    const open = vi.spyOn(fs, "openSync").mockImplementation(((file: fs.PathLike, flags?: fs.OpenMode) => {
      const fd = realOpen(file, flags ?? "r");
      opened.set(fd, String(file));
      return fd;
    }) as typeof fs.openSync);
    const synced: string[] = [];
    const fsync = vi.spyOn(fs, "fsyncSync").mockImplementation((fd: number) => {
      synced.push(opened.get(fd) ?? `fd ${fd}`);
      realFsync(fd);
    });
    try {
      const results = new ResultStore({ getResult: async () => undefined }, new FileBlobStore(dir), 16);
      const first = await results.save("x".repeat(100), "a result");
      const file = path.join(dir, first.path!);
      // The parents of the directories it created, then the file (under its temporary name),
      // then the directory that holds its final name.
      expect(synced).toEqual([path.join(root, "home"), root, expect.stringMatching(temporaryOf(file)), dir]);
      synced.length = 0;
      const second = await results.save("y".repeat(100), "a result");
      expect(synced).toEqual([expect.stringMatching(temporaryOf(path.join(dir, second.path!))), dir]);
      expect(await results.decode(second)).toBe("y".repeat(100));
      // The same bytes again: stored already, nothing written.
      synced.length = 0;
      expect((await results.save("y".repeat(100), "a result")).path).toBe(second.path);
      expect(synced).toEqual([]);
      // Small results stay inline: nothing to sync.
      synced.length = 0;
      expect(results.prepare("z", "a result").record).toMatchObject({ value: expect.any(String), path: null });
      expect(synced).toEqual([]);
    } finally {
      open.mockRestore();
      fsync.mockRestore();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("heartbeats", () => {
  it("go one at a time: a beat waiting out a database outage is not joined by the next ones", async () => {
    const db = await freshDatabaseUrl("sqlite");
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-beats-"));
    await configure({ databaseUrl: db.url, resultsDir, heartbeatMs: 20, logLevel: "silent" });
    try {
      const runtime = await getRuntime();
      const beat = runtime.store.heartbeatFlowRun.bind(runtime.store);
      let inFlight = 0;
      let most = 0;
      let beats = 0;
      // Each beat takes 150 ms (the store riding out an outage), many heartbeat intervals.
      vi.spyOn(runtime.store, "heartbeatFlowRun").mockImplementation(async (id, at) => {
        beats++;
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 150));
        inFlight--;
        return beat(id, at);
      });
      const beating = flow(async function beatingFlow() {
        await new Promise((r) => setTimeout(r, 500));
        return 1;
      });
      expect((await beating.run()).state.name).toBe("Completed");
      expect(beats).toBeGreaterThanOrEqual(2);
      expect(most).toBe(1);
    } finally {
      await shutdown();
      await db.cleanup();
      fs.rmSync(resultsDir, { recursive: true, force: true });
    }
  });
});
