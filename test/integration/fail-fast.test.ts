/**
 * `failFast: true` (on SQLite and PostgreSQL): at the first task run that fails for good, the
 * flow run's other task runs end Cancelled with a `failFast:` message within 100 ms — event-loop
 * tasks through their signal, a CPU-bound thread task by terminating its thread, a task waiting
 * for a slot without starting — and the flow run ends Failed with that task's error. Without
 * the option the siblings run to their end.
 *
 * The 100 ms, measured twice for each sibling: from the failed task run's end (its Failed
 * state's timestamp) to the sibling's Cancelled state (its timestamp: the engine has aborted its
 * signal, terminated its thread, decided its end), and from the commit of the Failed state to
 * the commit of the Cancelled one, seen at the store. The engine needs one event-loop turn for
 * the first (0-2 ms on a quiet machine) and puts the Cancelled states in the failure's commit or
 * the next one, so 100 ms leaves room for a loaded 2-core machine; the siblings would run 20 s
 * otherwise. The absolute time from the failure to any commit is the store's latency, which the
 * Failed state pays as well (fsync on SQLite, a round trip on PostgreSQL): not measured here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FailFastError, TaskRunError } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import type { TaskRun, WriteOp } from "../../src/store/types.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type DatabaseEngine } from "../support/engine.ts";
import { pipeline, seen, tolerant } from "./fixtures/fail-fast-tasks.ts";

const SIBLING_MS = 20_000;

describe.each(DIALECTS)("failFast on %s", (dialect) => {
  let engine: DatabaseEngine;
  /** When each task run's final state was committed, by task run id. */
  const committedAt = new Map<string, number>();
  beforeAll(async () => {
    engine = await configureEngine(dialect);
    const store = (await getRuntime()).store;
    const apply = store.applyWrites.bind(store);
    // Observes the batcher's commits (the real store's): a state counts once it is stored.
    store.applyWrites = async (ops: readonly WriteOp[], options?: { batchId?: string }) => {
      const applied = await apply(ops, options);
      const now = Date.now();
      for (const op of ops) if (op.kind === "taskRun" && op.taskRun.endTime !== null) committedAt.set(op.taskRun.id, now);
      return applied;
    };
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("cancels the in-flight and waiting siblings within 100 ms of the failure and fails with its error", async () => {
    seen.length = 0;
    const started = Date.now();
    const run = await pipeline.with({ failFast: true }).run({ siblingMs: SIBLING_MS, failAfterMs: 300 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.state.name).toBe("Failed");
    expect(run.error).toMatchObject({ name: "TaskRunError" });
    expect(run.error!.message).toMatch(/of "explode" ended Failed: the input file is corrupt/);

    const taskRuns = await engine.store.listTaskRuns(run.id);
    const failed = taskRuns.find((t) => t.taskName === "explode")!;
    expect(failed.state.name).toBe("Failed");
    const siblings = taskRuns.filter((t) => t !== failed);
    expect(siblings.map((t) => t.taskKey).sort()).toEqual(["crunch-0", "wait-0", "wait-1", "wait-2"]);
    for (const sibling of siblings) {
      expect(sibling.state.type).toBe("CANCELLED");
      expect(sibling.state.message).toMatch(new RegExp(`^failFast: task run ${failed.id} of "explode" ended Failed`));
      const ended = sibling.state.timestamp - failed.state.timestamp;
      const stored = committedAt.get(sibling.id)! - committedAt.get(failed.id)!;
      expect(ended, `${sibling.taskKey} ended Cancelled ${ended} ms after the failure`).toBeLessThan(100);
      expect(stored, `${sibling.taskKey}'s Cancelled state was committed ${stored} ms after the Failed one`).toBeLessThan(100);
    }
    // The fifth task waited for a slot: it never started.
    const waiting = siblings.find((t) => t.taskKey === "wait-2")!;
    expect(waiting).toMatchObject({ runCount: 0, startTime: null });
    expect((await engine.store.stateHistory(waiting.id)).map((s) => s.name)).toEqual(["Pending", "Cancelled"]);
    // The flow function awaiting a sibling got the named error, naming the failed task.
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(FailFastError);
    expect(seen[0]).toMatchObject({ failedTaskRunId: failed.id, failedTaskName: "explode" });
    expect((seen[0] as Error).cause).toBeInstanceOf(TaskRunError);
  });

  it("without failFast lets the siblings finish before the awaited failure fails the run", async () => {
    seen.length = 0;
    const run = await pipeline.run({ siblingMs: 600, failAfterMs: 50 });
    expect(run.state.name).toBe("Failed");
    expect(run.error!.message).toMatch(/of "explode" ended Failed: the input file is corrupt/);
    const taskRuns: TaskRun[] = await engine.store.listTaskRuns(run.id);
    expect(Object.fromEntries(taskRuns.map((t) => [t.taskKey, t.state.name]))).toEqual({
      "wait-0": "Completed",
      "wait-1": "Completed",
      "wait-2": "Completed",
      "crunch-0": "Completed",
      "explode-0": "Failed",
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toBeInstanceOf(FailFastError);
  });

  it("goes on after a failure the flow handles with wait()", async () => {
    const run = await tolerant.run();
    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual({ flaky: "Failed", slow: "waited" });
  });
});

describe("the failFast option", () => {
  it("is a boolean, checked when the flow is defined (also through with)", () => {
    expect(pipeline.with({ failFast: true }).options.failFast).toBe(true);
    expect(pipeline.options.failFast).toBe(false);
    expect(() => pipeline.with({ failFast: "yes" as never })).toThrow('flow option "failFast" must be a boolean, got string');
  });
});
