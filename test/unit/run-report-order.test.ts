/** The order of a report's tasks: creation order, but a task never before what it depends on. */
import { describe, expect, it } from "vitest";
import { upstreamFirst } from "../../src/services/run-report.ts";
import type { TaskDependency, TaskRun } from "../../src/store/types.ts";

const task = (id: string, taskKey: string, createdAt: number): TaskRun => ({
  id,
  flowRunId: "f",
  taskKey,
  taskName: taskKey.split("-")[0]!,
  state: { type: "COMPLETED", name: "Completed", timestamp: createdAt, message: null, data: null },
  runCount: 1,
  cacheKey: null,
  resultId: null,
  error: null,
  tags: [],
  createdAt,
  startTime: createdAt,
  endTime: createdAt,
} as unknown as TaskRun);
const dep = (taskRunId: string, upstreamTaskRunId: string, kind: TaskDependency["kind"] = "data"): TaskDependency => ({ taskRunId, upstreamTaskRunId, kind });
const keys = (tasks: TaskRun[]) => tasks.map((t) => t.taskKey);

describe("upstreamFirst", () => {
  it("keeps creation order, then task key, when nothing depends on anything", () => {
    expect(keys(upstreamFirst([task("3", "c-0", 2), task("1", "b-0", 1), task("2", "a-0", 1)], []))).toEqual(["a-0", "b-0", "c-0"]);
  });

  it("puts an upstream created in the same millisecond before the task that reads it, whatever the keys", () => {
    const tasks = [task("x", "double-0", 5), task("y", "add-0", 5)];
    expect(keys(upstreamFirst(tasks, [dep("y", "x")]))).toEqual(["double-0", "add-0"]);
    expect(keys(upstreamFirst(tasks, []))).toEqual(["add-0", "double-0"]);
  });

  it("orders a chain and a fan-in whatever order they come in, and waits count as dependencies", () => {
    const tasks = [task("d", "d-0", 1), task("c", "c-0", 1), task("b", "b-0", 1), task("a", "a-0", 1)];
    // a → b → c (wait) ; d reads a and c.
    const deps = [dep("b", "a"), dep("c", "b", "wait"), dep("d", "c"), dep("d", "a")];
    const order = keys(upstreamFirst([...tasks].reverse(), deps));
    expect(order).toEqual(["a-0", "b-0", "c-0", "d-0"]);
    expect(keys(upstreamFirst(tasks, deps))).toEqual(order);
  });

  it("lists every task once when the dependencies loop or name a task of another run", () => {
    const tasks = [task("a", "a-0", 1), task("b", "b-0", 2)];
    const order = upstreamFirst(tasks, [dep("a", "b"), dep("b", "a"), dep("a", "a"), dep("b", "elsewhere")]);
    expect(order.map((t) => t.id).sort()).toEqual(["a", "b"]);
  });

  it("takes linear time on a long chain created out of order", () => {
    const n = 20_000;
    const tasks = Array.from({ length: n }, (_, i) => task(`t${i}`, `t-${String(i).padStart(5, "0")}`, n - i));
    const deps = Array.from({ length: n - 1 }, (_, i) => dep(`t${i + 1}`, `t${i}`));
    // Every upstream sits after its dependant here: the walk goes 20,000 deep.
    const order = upstreamFirst(tasks, deps);
    expect(order[0]!.id).toBe("t0");
    expect(order.at(-1)!.id).toBe(`t${n - 1}`);
  });
});
