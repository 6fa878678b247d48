/**
 * The admission window (BATON_TASK_WINDOW): a flow run keeps at most that many top-level task
 * runs in flight, later calls start in call order as earlier ones settle, and nothing that
 * waits on another task (a future passed on, a task calling a task) can deadlock behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, task } from "../../src/index.ts";
import type { RunStore } from "../../src/store/types.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(["sqlite", "postgres"] as const)("the admission window of a flow run on %s", (backend) => {
  let db: EngineDatabase;
  let store: RunStore;
  const window = 8;
  beforeAll(async () => {
    process.env.BATON_TASK_WINDOW = String(window);
    db = await configureEngine(backend);
    store = db.store;
  });
  afterAll(async () => {
    delete process.env.BATON_TASK_WINDOW;
    await db.close();
  });

  it("keeps at most the window in flight, starts the rest in call order, and records every run", async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const work = task(async function windowWork(i: number) {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return i * 2;
    });
    const fanOut = flow(async function windowFanOut() {
      const futures = work.map([...Array(100).keys()]);
      // A queued call reports Pending until it starts.
      expect(futures[99]!.state().type).toBe("PENDING");
      return (await Promise.all(futures)).reduce((a, b) => a + b, 0);
    });
    const outcome = await fanOut.run();
    expect(outcome.state.type).toBe("COMPLETED");
    expect(outcome.result).toBe(9_900);
    expect(most).toBe(window);
    expect(started).toEqual([...Array(100).keys()]);
    const runs = await store.listTaskRuns(outcome.id);
    expect(runs).toHaveLength(100);
    expect(runs.every((r) => r.state.type === "COMPLETED")).toBe(true);
  });

  it("runs a task that waits on futures queued before it, and tasks that call tasks, without deadlock", async () => {
    const leaf = task(async function windowLeaf(i: number) {
      return i + 1;
    });
    // Each parent holds its room while its child runs: the child must not need a room of its own.
    const parent = task(async function windowParent(i: number) {
      return (await leaf(i)) * 10;
    });
    const sum = task(async function windowSum(values: number[]) {
      return values.reduce((a, b) => a + b, 0);
    });
    const nested = flow(async function windowNested() {
      const parents = parent.map([...Array(3 * window).keys()]);
      // Passed the futures of 24 calls, most of them queued when it is called.
      return await sum(parents);
    });
    const outcome = await nested.run();
    expect(outcome.state.type).toBe("COMPLETED");
    expect(outcome.result).toBe(10 * ((3 * window * (3 * window + 1)) / 2));
  });

  it("still refuses a task key used twice, generated or explicit, without keeping generated keys", async () => {
    const keyed = task(async function windowKeyed() {
      return 1;
    });
    const clash = flow(async function windowKeyClash(p: { explicitFirst: boolean }) {
      if (p.explicitFirst) {
        await keyed.with({ key: "windowKeyed-1" })();
        await keyed();
        await keyed(); // generated "windowKeyed-1": taken
      } else {
        await keyed();
        await keyed.with({ key: "windowKeyed-0" })(); // taken by the generated key
      }
    });
    for (const explicitFirst of [true, false]) {
      const outcome = await clash.run({ explicitFirst });
      expect(outcome.state.type).toBe("FAILED");
      expect(outcome.state.message).toMatch(/task key "windowKeyed-[01]" is used twice/);
    }
  });
});
