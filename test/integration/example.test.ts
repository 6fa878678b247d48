/**
 * The main job, end to end on a fresh SQLite store: real data, real models on worker threads,
 * and a second run served from the cache.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, shutdown } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { train } from "../../examples/train.ts";

describe("examples/train.ts", () => {
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-example-"));
    await configure({ databaseUrl: `sqlite://${path.join(dir, "baton.db")}`, resultsDir: path.join(dir, "results"), logLevel: "silent" });
  });
  afterAll(async () => {
    await shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const params = { nEstimators: [8], maxDepth: [4, 8], seed: 7 };

  it("trains, evaluates and picks a real model, recording every task run", async () => {
    const run = await train.run(params);
    expect(run.state.name, run.error?.message).toBe("Completed");
    const result = run.result!;
    expect(result.configurations).toBe(2);
    expect(result.best.accuracy).toBeGreaterThan(0.65); // always guessing "sun" scores ~0.44
    expect(result.best.macroF1).toBeGreaterThan(0.3);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(365);

    const store = (await getRuntime()).store;
    const taskRuns = await store.listTaskRuns(run.id);
    expect(taskRuns.map((t) => t.taskKey).sort()).toEqual(
      ["evaluateModel-0", "evaluateModel-1", "loadDataset-0", "pickBest-0", "splitDataset-0", "trainModel-0", "trainModel-1", "validateRows-0"].sort(),
    );
    expect(taskRuns.every((t) => t.state.name === "Completed")).toBe(true);
    const logs = await store.listLogs({ flowRunId: run.id });
    expect(logs.some((l) => l.message.includes("read 1461 records"))).toBe(true);
    expect((await store.listDependencies(run.id)).length).toBeGreaterThanOrEqual(5);
  });

  it("serves the training tasks from the cache on a second run", async () => {
    const again = await train.run(params);
    expect(again.state.name).toBe("Completed");
    const store = (await getRuntime()).store;
    const states = Object.fromEntries((await store.listTaskRuns(again.id)).map((t) => [t.taskKey, t.state.name]));
    expect(states["trainModel-0"]).toBe("Cached");
    expect(states["trainModel-1"]).toBe("Cached");
    expect(states["loadDataset-0"]).toBe("Completed");
  });

  it("rejects invalid parameters before running any task", async () => {
    const run = await train.run({ testFraction: 2 } as never);
    expect(run.state.name).toBe("Failed");
    expect(run.state.message).toMatch(/testFraction/);
  });
});
