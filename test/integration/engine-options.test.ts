/**
 * Flow parameters, and the task and flow options through real runs: hooks, retries with
 * jitter, timeouts, persistResult, thread runners and option copies — on SQLite, PostgreSQL and
 * a server through the API client (support/engine.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { flow, getRunContext, task } from "../../src/index.ts";
import type { HookContext } from "../../src/core/options.ts";
import type { RunStore } from "../../src/store/types.ts";
import { configureEngine, ENGINE_BACKENDS, type EngineDatabase } from "../support/engine.ts";

describe.each(ENGINE_BACKENDS)("flow parameters and run options on %s", (backend) => {
  let engine: EngineDatabase;
  let store: RunStore;

  beforeAll(async () => {
    engine = await configureEngine(backend);
    ({ store } = engine);
  });

  afterAll(() => engine.close());

  it("refuses parameters that JSON would change, naming the path: the run ends Failed, runs nothing, cannot be resumed", async () => {
    let ran = 0;
    const f = flow(async function jsonParamsFlow(_params: Record<string, unknown>) {
      ran++;
    });
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    const cases: [Record<string, unknown>, string][] = [
      [{ start: new Date(0) }, "params.start is a Date"],
      [{ lookup: new Map([[1, 2]]) }, "params.lookup is a Map"],
      [{ nested: { fn: () => 1 } }, "params.nested.fn is a function"],
      [{ items: [1, undefined, 3] }, "params.items[1] is undefined"],
      [{ big: 10n }, "params.big is a BigInt"],
      [{ ratio: Number.NaN }, "params.ratio is NaN"],
      [{ rows: [{ ok: 1 }, { when: new Date(0) }] }, "params.rows[1].when is a Date"],
      [{ "odd key": Infinity }, 'params["odd key"] is Infinity'],
      [circular, "params.self is a circular reference"],
      [{ url: new URL("https://example.org") }, "params.url is a URL"],
    ];
    for (const [params, expected] of cases) {
      const run = await f.run(params);
      expect(run.state.name, expected).toBe("Failed");
      expect(run.state.message).toBe(`${expected}; flow parameters must be JSON (string, number, boolean, null, arrays, plain objects) nested at most 64 levels deep`);
      expect(run.error?.name).toBe("ParameterValidationError");
    }
    expect(ran).toBe(0);
    // Undefined properties read back as missing: the same value for the flow, so accepted.
    expect((await f.run({ maybe: undefined, n: 1 })).state.name).toBe("Completed");

    const refused = await f.run({ start: new Date(0), big: 10n });
    const stored = (await store.getFlowRun(refused.id))!;
    expect(stored.parameters).toEqual({ start: "1970-01-01T00:00:00.000Z", big: "10n" }); // shown, not reused
    await expect(f.resume(refused.id)).rejects.toThrow(/was refused its parameters \(params\.start is a Date.*start a new run/);
  });

  it("refuses parameters nested more than 64 levels deep, naming the path, where JSON.stringify would overflow the stack", async () => {
    let ran = 0;
    const f = flow(async function deepParamsFlow(_params: Record<string, unknown>) {
      ran++;
    });
    const nest = (levels: number) => {
      let value: Record<string, unknown> = { leaf: 1 };
      for (let i = 1; i < levels; i++) value = { a: value };
      return value;
    };
    expect((await f.run(nest(64))).state.name).toBe("Completed");
    for (const levels of [65, 5_000, 100_000]) {
      const run = await f.run(nest(levels));
      expect(run.state.name, `${levels} levels`).toBe("Failed");
      expect(run.state.message).toMatch(/^params(\.a)+… is nested more than 64 levels deep; flow parameters must be JSON .* nested at most 64 levels deep$/);
      expect(run.state.message!.length).toBeLessThan(300);
      expect(run.error?.name).toBe("ParameterValidationError");
      // What was passed is stored for display, cut where it gets too deep.
      expect(JSON.stringify((await store.getFlowRun(run.id))!.parameters)).toMatch(/\[nested more than 64 levels deep\]/);
    }
    expect(ran).toBe(1);
  });

  it("lets a zod schema turn JSON strings into Dates, on the first run and on resume", async () => {
    const seen: unknown[] = [];
    let fail = true;
    const step = task(async function dateStep(at: Date) {
      if (fail) throw new Error("not yet");
      return at.getUTCFullYear();
    });
    const f = flow(
      async function coercedDatesFlow(params: { start: Date }) {
        seen.push(params.start);
        return step(params.start);
      },
      { params: z.object({ start: z.coerce.date() }) },
    );
    const first = await f.run({ start: "2026-03-04T05:06:07Z" } as never);
    expect(first.state.name).toBe("Failed");
    fail = false;
    const resumed = await f.resume(first.id);
    expect(resumed.result).toBe(2026);
    expect(seen).toHaveLength(2);
    for (const value of seen) expect(value).toEqual(new Date("2026-03-04T05:06:07Z"));
  });

  it("ends a claimed run Failed when its stored parameters do not pass the schema", async () => {
    const { makeState } = await import("../../src/core/states.ts");
    const { newId } = await import("../../src/core/ids.ts");
    const f = flow(async function schemaClaimedFlow(params: { n: number }) {
      return params.n;
    }, { params: z.object({ n: z.number().int() }) });
    const created = await store.createFlowRun({ id: newId(), flowName: "schemaClaimedFlow", name: "api-made", parentFlowRunId: null, parentTaskRunId: null, parameters: { n: "seven" }, tags: [], version: null, state: makeState("Pending") });
    const outcome = await f.resume(created.id);
    expect(outcome.state.name).toBe("Failed");
    expect(outcome.state.message).toMatch(/invalid parameters for flow "schemaClaimedFlow"/);
    expect((await store.listTaskRuns(created.id)).length).toBe(0);
  });

  it("refuses waitFor items that are not task futures, naming the option", async () => {
    const t = task(async function waiter() {
      return 1;
    });
    const other = task(async function waitedOn(n = 2) {
      return n;
    });
    expect(() => t.with({ waitFor: [1] })).toThrow(/task option "waitFor" must hold task futures \(from submit\(\) or map\(\)\); item 0 is a number/);
    const f = flow(async function waitForFlow() {
      const called = other(); // a promise, not a future
      let message = "";
      try {
        t.with({ waitFor: [other.submit(), [called]] });
      } catch (error) {
        message = `${(error as Error).name}: ${(error as Error).message}`;
      }
      await called;
      // Futures and arrays of futures (as map returns) are fine.
      const ok = await t.with({ waitFor: [other.submit(), other.map([1, 2])] })();
      return { message, ok };
    });
    const run = await f.run();
    expect(run.result).toEqual({ message: expect.stringMatching(/^TypeError: task option "waitFor" .*item 1 is an array holding a Promise$/), ok: 1 });
  });

  it("runs task and flow hooks with the run's state, attempt, result and error; a hook that throws changes nothing", async () => {
    const seen: string[] = [];
    const record = (label: string) => (ctx: HookContext) => {
      seen.push(`${label}:${ctx.kind}:${ctx.name}:${ctx.state.name}:${ctx.attempt}:${ctx.result ?? ""}:${(ctx.error as Error | undefined)?.message ?? ""}`);
    };
    const broken = () => {
      throw new Error("hook bug");
    };
    const good = task(async (x: number) => x * 2, { name: "hookedGood", onCompletion: [broken, record("done")], onFailure: record("failed") });
    const bad = task(
      async () => {
        throw new Error("task broke");
      },
      { name: "hookedBad", onCompletion: record("done"), onFailure: [record("failed"), broken] },
    );
    let flowAttempts = 0;
    const f = flow(
      async function hookedFlow() {
        flowAttempts++;
        const value = await good(21);
        if (flowAttempts === 1) await bad();
        return value;
      },
      { retries: 1, retryDelayMs: 1, onCompletion: record("done"), onFailure: record("failed"), onRetry: [broken, record("retry")] },
    );
    const run = await f.run();
    expect(run.state.name).toBe("Completed");
    expect(run.result).toBe(42);
    expect(seen).toEqual([
      "done:task:hookedGood:Completed:1:42:",
      "failed:task:hookedBad:Failed:1::task broke",
      `retry:flow:hookedFlow:AwaitingRetry:1::task run ${(await store.listTaskRuns(run.id)).find((t) => t.taskName === "hookedBad")!.id} of "hookedBad" ended Failed: task broke`,
      "done:flow:hookedFlow:Completed:2:42:",
    ]);
    const logs = (await store.listLogs({ flowRunId: run.id })).map((l) => l.message);
    expect(logs.filter((m) => m.includes("threw: hook bug"))).toHaveLength(3);

    seen.length = 0;
    const failing = flow(
      async function hookedFailingFlow() {
        throw new Error("flow broke");
      },
      { onCompletion: record("done"), onFailure: record("failed") },
    );
    expect((await failing.run()).state.name).toBe("Failed");
    expect(seen).toEqual(["failed:flow:hookedFailingFlow:Failed:1::flow broke"]);
  });

  it("persistResult: false stores no result; a resume runs that task again and says why", async () => {
    let computed = 0;
    let failAfter = true;
    const volatile = task(
      async function volatileStep() {
        computed++;
        return { secret: "not stored" };
      },
      { persistResult: false },
    );
    const f = flow(
      async function unpersistedFlow() {
        const value = await volatile();
        if (failAfter) throw new Error("later step failed");
        return value.secret.length;
      },
      { persistResult: false },
    );
    const failed = await f.run();
    expect(failed.state.name).toBe("Failed");
    const [taskRun] = await store.listTaskRuns(failed.id);
    expect(taskRun).toMatchObject({ state: { name: "Completed" }, resultId: null });
    failAfter = false;
    const resumed = await f.resume(failed.id);
    expect(resumed).toMatchObject({ state: { name: "Completed" }, result: 10 });
    expect(computed).toBe(2);
    const history = await store.stateHistory(taskRun!.id);
    expect(history.map((s) => s.name)).toEqual(["Pending", "Running", "Completed", "Pending", "Running", "Completed"]);
    expect(history[3]!.message).toBe("re-running: its result was not persisted");
    // The flow's own result was not stored either: resuming the completed run has none to return.
    expect((await store.getFlowRun(failed.id))!.resultId).toBeNull();
    expect((await f.resume(failed.id)).result).toBeUndefined();
  });

  it("ends a flow that exceeds timeoutMs TimedOut, and its unfinished task runs Cancelled", async () => {
    let sawAbort = false;
    const slow = task(async function slowForFlow() {
      const signal = getRunContext()!.signal;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20_000);
        signal.addEventListener("abort", () => {
          sawAbort = true;
          clearTimeout(timer);
          resolve();
        });
      });
    });
    const f = flow(
      async function timedFlow() {
        await slow();
      },
      { timeoutMs: 150 },
    );
    const started = Date.now();
    const run = await f.run();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(run.state.name).toBe("TimedOut");
    expect(run.state.type).toBe("FAILED");
    expect(run.state.message).toMatch(/"flow timedFlow" timed out after 150 ms/);
    expect(sawAbort).toBe(true);
    const [taskRun] = await store.listTaskRuns(run.id);
    expect(taskRun!.state).toMatchObject({ name: "Cancelled", message: expect.stringMatching(/stopped because the flow run ended: .*timed out after 150 ms/) });
  });

  it("spreads retry delays with retryJitter", async () => {
    const attempts = new Map<number, number>();
    const flaky = task(
      async function jitteredStep(i: number) {
        const n = (attempts.get(i) ?? 0) + 1;
        attempts.set(i, n);
        if (n === 1) throw new Error("first attempt fails");
        return i;
      },
      { retries: 1, retryDelayMs: 200, retryJitter: 0.5 },
    );
    const f = flow(async function jitterFlow() {
      return Promise.all(flaky.map([0, 1, 2, 3, 4, 5, 6, 7]));
    });
    const run = await f.run();
    expect(run.state.name).toBe("Completed");
    const delays: number[] = [];
    for (const taskRun of await store.listTaskRuns(run.id)) {
      const history = await store.stateHistory(taskRun.id);
      const awaiting = history.find((s) => s.name === "AwaitingRetry")!;
      const retrying = history.find((s) => s.name === "Retrying")!;
      const delay = awaiting.scheduledAt! - awaiting.timestamp;
      delays.push(delay);
      expect(delay).toBeGreaterThanOrEqual(100 - 5);
      expect(delay).toBeLessThanOrEqual(300 + 5);
      expect(retrying.timestamp).toBeGreaterThanOrEqual(awaiting.scheduledAt!);
    }
    expect(new Set(delays).size).toBeGreaterThan(1); // not in lock-step
  });

  it("t.with() and flow.with() make copies with options overridden, leaving the originals as they were", async () => {
    let calls = 0;
    const base = task(async function baseStep(fail: boolean) {
      calls++;
      if (fail && calls < 3) throw new Error("transient");
      return calls;
    });
    const sturdy = base.with({ name: "sturdyStep", retries: 2, retryDelayMs: 1, tags: ["copy"], key: "the-sturdy-one" });
    expect(base.options).toMatchObject({ name: "baseStep", retries: 0, tags: [], key: null });
    expect(sturdy.options).toMatchObject({ name: "sturdyStep", retries: 2, tags: ["copy"], key: "the-sturdy-one" });
    const f = flow(async function withFlow() {
      const fromCopy = await sturdy(true);
      const plain = await base.with({ timeoutMs: 1_000 }).submit(false).wait();
      return { fromCopy, plain: plain.name };
    });
    const run = await f.run();
    expect(run.result).toEqual({ fromCopy: 3, plain: "Completed" });
    const runs = await store.listTaskRuns(run.id);
    expect(runs.find((t) => t.taskName === "sturdyStep")).toMatchObject({ taskKey: "the-sturdy-one", tags: ["copy"], runCount: 3, state: { name: "Completed" } });
    expect(runs.find((t) => t.taskName === "baseStep")).toMatchObject({ taskKey: "baseStep-0", runCount: 1 });

    let flowCalls = 0;
    const original = flow(async function originalFlow() {
      flowCalls++;
      if (flowCalls === 1) throw new Error("first flow attempt fails");
      return flowCalls;
    });
    const retrying = original.with({ name: "retryingCopy", retries: 1, retryDelayMs: 1, tags: ["copy"] });
    expect(original.options).toMatchObject({ name: "originalFlow", retries: 0 });
    const copyRun = await retrying.run();
    expect(copyRun).toMatchObject({ state: { name: "Completed" }, result: 2 });
    expect(await store.getFlowRun(copyRun.id)).toMatchObject({ flowName: "retryingCopy", tags: ["copy"], runCount: 2 }); // two attempts
    flowCalls = 0;
    expect((await original.run()).state.name).toBe("Failed");
  });
});
