/** The task options `workPool` and `workQueue`: checked when the task is defined, refused outside a flow. */
import { describe, expect, it } from "vitest";
import { compileTaskOptions } from "../../src/core/options.ts";
import { task } from "../../src/sdk/task.ts";

const fn = async function train(lr: number) {
  return lr;
};

describe("task option workPool", () => {
  it("compiles a pool and a queue, and none by default", () => {
    expect(compileTaskOptions(fn, { workPool: "gpu", workQueue: "a100" })).toMatchObject({ workPool: "gpu", workQueue: "a100" });
    expect(compileTaskOptions(fn, {})).toMatchObject({ workPool: null, workQueue: null });
  });

  it("refuses a bad value, naming the option", () => {
    expect(() => compileTaskOptions(fn, { workPool: "" })).toThrow('task option "workPool" must be the name of a work pool, got an empty string');
    expect(() => compileTaskOptions(fn, { workPool: 3 as unknown as string })).toThrow('task option "workPool" must be a string, got number');
    expect(() => compileTaskOptions(fn, { workQueue: "a100" })).toThrow('task option "workQueue" needs workPool: a queue belongs to a work pool');
    expect(() => compileTaskOptions(fn, { workPool: "gpu", workQueue: " " })).toThrow('task option "workQueue" must be the name of a queue of workPool');
    expect(() => compileTaskOptions(fn, { workPool: "gpu", runner: "threads" })).toThrow('task option "runner" "threads" cannot be combined with workPool');
    expect(() => task(fn).with({ workPool: "" })).toThrow(/workPool/);
  });

  it("a task with workPool called outside a flow fails instead of running here", async () => {
    const train = task(fn, { workPool: "gpu" });
    await expect(train(0.1)).rejects.toThrow('task "train" has workPool "gpu" and was called outside a flow');
    await expect(task(fn).with({ workPool: "gpu" })(0.1)).rejects.toThrow(/called outside a flow/);
  });
});
