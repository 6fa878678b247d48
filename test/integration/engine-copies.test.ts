/**
 * Two copies of Baton in one process — a flow file importing Baton from dist/ while the CLI runs
 * from src/, two installed versions — work as one: a task of one copy called in a flow run of
 * the other is a task run of that flow run, stored in its database. Each copy here is a real
 * second module instance of every Baton module (`vi.resetModules()` empties the registry, so the
 * next import evaluates them all again: other classes, other module state), as Node makes for a
 * second URL. An incompatible copy fails to load, saying so.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SHARED_SHAPE } from "../../src/engine/process-wide.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { until } from "../support/processes.ts";

interface Copy {
  baton: typeof import("../../src/index.ts");
  sdk: typeof import("../../src/sdk/runtime.ts");
  runner: typeof import("../../src/engine/flow-runner.ts");
  registry: typeof import("../../src/engine/task-registry.ts");
}

/** Every Baton module evaluated anew: a copy of Baton of its own, as a second installation is. */
async function loadCopy(): Promise<Copy> {
  vi.resetModules();
  const [baton, sdk, runner, registry] = await Promise.all([
    import("../../src/index.ts"),
    import("../../src/sdk/runtime.ts"),
    import("../../src/engine/flow-runner.ts"),
    import("../../src/engine/task-registry.ts"),
  ]);
  return { baton, sdk, runner, registry };
}

// Nothing lands in ~/.baton, even if a copy opened a runtime of its own.
const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-copies-"));
const savedHome = process.env.BATON_HOME;
process.env.BATON_HOME = home;
afterAll(() => {
  if (savedHome === undefined) delete process.env.BATON_HOME;
  else process.env.BATON_HOME = savedHome;
  fs.rmSync(home, { recursive: true, force: true });
});

let a: Copy;
let b: Copy;
beforeAll(async () => {
  a = await loadCopy();
  b = await loadCopy();
});

it("the two copies are separate module instances", () => {
  expect(b.baton.flow).not.toBe(a.baton.flow);
  expect(b.baton.TaskFuture).not.toBe(a.baton.TaskFuture);
  expect(b.runner.cancelActiveRuns).not.toBe(a.runner.cancelActiveRuns);
});

describe.each(DIALECTS)("two copies of Baton in one process (%s)", (dialect) => {
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    await a.baton.configure({ databaseUrl: db.url, resultsDir: path.join(home, `results-${dialect}`), logLevel: "silent" });
    cleanup = async () => {
      await a.baton.shutdown();
      await db.cleanup();
    };
  });
  afterAll(() => cleanup());

  const store = async () => (await a.sdk.getRuntime()).store;

  it("a task of copy B called in a flow run of copy A is a task run of that flow run", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      const double = b.baton.task(async function double(x: number) {
        const ctx = b.baton.getRunContext();
        return { value: 2 * x, flowRunId: ctx?.flowRun.id ?? null, taskRunId: ctx?.taskRun?.id ?? null };
      });
      const mixed = a.baton.flow(async function mixed() {
        const called = await double(21);
        const submitted = await double.submit(1);
        return { called, submitted };
      });
      const outcome = await mixed.run();
      expect(outcome.state.name, outcome.error?.message).toBe("Completed");

      const taskRuns = await (await store()).listTaskRuns(outcome.id);
      expect(taskRuns.map((t) => [t.taskKey, t.taskName, t.state.name]).sort()).toEqual([
        ["double-0", "double", "Completed"],
        ["double-1", "double", "Completed"],
      ]);
      const idOf = (key: string) => taskRuns.find((t) => t.taskKey === key)!.id;
      expect(outcome.result).toEqual({
        called: { value: 42, flowRunId: outcome.id, taskRunId: idOf("double-0") },
        submitted: { value: 2, flowRunId: outcome.id, taskRunId: idOf("double-1") },
      });
      expect(warnings.filter((w) => w.includes("outside a flow"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("the copies share one runtime: a child flow of copy B is stored under its parent of copy A", async () => {
    const child = b.baton.flow(async function child() {
      return b.baton.getRunContext()!.flowRun.id;
    });
    const parent = a.baton.flow(async function parent() {
      return await child();
    });
    const outcome = await parent.run();
    expect(outcome.state.name, outcome.error?.message).toBe("Completed");
    expect(await b.sdk.getRuntime()).toBe(await a.sdk.getRuntime());
    const children = (await (await store()).pageFlowRuns({ parentFlowRunId: outcome.id, limit: 10 })).items;
    expect(children.map((run) => [run.id, run.flowName, run.state.name])).toEqual([[outcome.result, "child", "Completed"]]);
  });

  it("a worker's SIGTERM through copy B cancels a flow run copy A started", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const hang = a.baton.task(async function hang() {
      started();
      await new Promise((resolve) => a.baton.getRunContext()!.signal.addEventListener("abort", resolve));
    });
    const long = a.baton.flow(async function long() {
      await hang();
    });
    const outcome = long.run();
    await running;
    expect(b.runner.cancelActiveRuns("stopped by the test")).toBe(1);
    expect((await outcome).state.name).toBe("Cancelled");
  });

  it("console output of a logPrints run is stored once, whichever copies wrapped the console", async () => {
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const printA = a.baton.flow(async function printA() {
        console.log("printed under copy A");
      }, { logPrints: true });
      const printB = b.baton.flow(async function printB() {
        console.log("printed under copy B");
      }, { logPrints: true });
      await printA.run();
      const outcome = await printB.run();
      const logs = await (await store()).listLogs({ flowRunId: outcome.id });
      expect(logs.filter((log) => log.message === "printed under copy B")).toHaveLength(1);
    } finally {
      quiet.mockRestore();
    }
  });

  it("serve() of copy B on the runtime copy A opened knows it is on a database: it schedules its deployment's runs", async () => {
    await store(); // opened by copy A
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const stop = new AbortController();
    // The first slot half an hour away: made ahead of time, never due while the test runs.
    const served = b.baton.flow(async function served() {}).serve({ interval: 3_600_000, anchor: Date.now() + 1_800_000, signal: stop.signal });
    try {
      const scheduled = await until(async () => {
        const runs = (await (await store()).pageFlowRuns({ flowName: "served", limit: 10 })).items;
        return runs.length > 0 && runs;
      }, "the served deployment's scheduler to make a run", 10_000);
      expect(scheduled.map((run) => run.state.name)).toEqual(["Scheduled"]);
    } finally {
      stop.abort();
      await served;
      quiet.mockRestore();
    }
  });

  it("a worker thread finds a task whichever copy defined it", () => {
    const shout = b.baton.task(async function shout(text: string) {
      return text.toUpperCase();
    });
    expect(a.registry.findTask(import.meta.url, "shout")?.fn).toBe(shout.fn);
  });
});

describe("an incompatible copy of Baton", () => {
  const key = Symbol.for("baton.run-context");
  const globals = globalThis as unknown as Record<symbol, unknown>;
  // The slot the copies loaded above made: put back after each test.
  let real: unknown;
  beforeAll(() => {
    real = globals[key];
    expect(real).toBeDefined();
  });
  afterEach(() => {
    globals[key] = real;
  });

  it("fails to load with one error naming both copies when the shared state has another shape", async () => {
    const elsewhere = "file:///srv/app/node_modules/baton/dist/engine/process-wide.js";
    const other = SHARED_SHAPE + 1;
    globals[key] = { shape: other, value: new AsyncLocalStorage(), createdBy: elsewhere };
    const error = await loadCopy().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("BatonError");
    expect(error?.message).toMatch(
      new RegExp(
        `^two incompatible copies of Baton are loaded in this process: file://\\S+/src/engine/process-wide\\.ts expects its shared state in shape ${SHARED_SHAPE}, but ${elsewhere.replace(/\./g, "\\.")} made globalThis\\[Symbol\\.for\\("baton\\.run-context"\\)\\] in shape ${other}; `,
      ),
    );
  });

  it("fails to load when something that is not Baton's holds the key", async () => {
    globals[key] = { storage: "mine" };
    await expect(loadCopy()).rejects.toThrow(/^globalThis\[Symbol\.for\("baton\.run-context"\)\] holds an object that is not Baton's shared state/);
  });
});
