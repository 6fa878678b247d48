/**
 * Experiment tracking from `runner: "threads"` tasks, on SQLite, PostgreSQL and the remote client:
 * a `map` of thread tasks gives one run per configuration with its parameters and curve
 * (automatic and explicit steps as in the main thread, a retry redraws the curve, values not
 * awaited still stored); values reach the store while the task runs; a bad value fails the task
 * with the TypeError its call threw.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteExperiments } from "../../src/client/remote-experiments.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { KyselyExperimentViews, type ExperimentViews } from "../../src/store/experiment-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { ENGINE_BACKENDS, configureEngine, type EngineDatabase } from "../support/engine.ts";
import { badThreadFlow, longTrainingFlow, retriedThreadFlow, threadSearch } from "./fixtures/thread-experiment.ts";

describe.each(ENGINE_BACKENDS)("experiment tracking in worker threads on %s", (backend) => {
  let engine: EngineDatabase;
  let views: ExperimentViews;
  let dir: string;
  beforeAll(async () => {
    engine = await configureEngine(backend);
    views = engine.store instanceof RemoteStore ? new RemoteExperiments(engine.store.api) : new KyselyExperimentViews(engine.store as KyselyStore);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-thread-exp-"));
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a map of thread tasks: one run per configuration, each with its parameters and curve", async () => {
    expect(await threadSearch({ depths: [2, 4, 6] })).toBe(6);
    const runs = await views.experimentRuns("thread-search", { limit: 10 });
    expect(runs).toHaveLength(3);
    for (const depth of [2, 4, 6]) {
      const row = runs.find((r) => r.params.depth === depth)!;
      expect(row).toMatchObject({ params: { depth, lr: depth / 10, runner: "threads" }, stateName: "Completed", taskRunId: row.runId });
      expect(row.metrics.loss).toEqual({ last: 1 / (5 + depth), lastStep: 4, min: 1 / (5 + depth), max: 1 / (1 + depth), steps: 5 });
      expect(row.metrics.lr).toEqual({ last: depth / 20, lastStep: 10, min: depth / 20, max: depth / 20, steps: 1 });
      expect(row.metrics.macroF1).toMatchObject({ lastStep: 0, steps: 1 });
      const history = await views.metricHistory(row.runId, { names: ["loss"], limit: 100 });
      expect(history!.metrics.loss!.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("values reach the store while the thread task still runs", async () => {
    const gate = path.join(dir, `gate-${backend}`);
    const run = longTrainingFlow.run({ gate });
    // The task waits for the gate after its first point: that point can only be seen if it was written during the run.
    let rows = await views.experimentRuns("longTrainingFlow", { limit: 10 });
    for (let i = 0; i < 500 && !rows[0]?.metrics.loss; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      rows = await views.experimentRuns("longTrainingFlow", { limit: 10 });
    }
    expect(rows[0]).toMatchObject({ stateName: "Running", metrics: { loss: { last: 1, steps: 1 } } });
    fs.writeFileSync(gate, "");
    expect((await run).state.name).toBe("Completed");
    const [done] = await views.experimentRuns("longTrainingFlow", { limit: 10 });
    expect(done).toMatchObject({ stateName: "Completed", metrics: { loss: { last: 0.5, lastStep: 1, steps: 2 } } });
  });

  it("a retried thread task logs its curve again over the same steps instead of doubling it", async () => {
    expect((await retriedThreadFlow.run({ marker: path.join(dir, `retried-${backend}`) })).state.name).toBe("Completed");
    const [row] = await views.experimentRuns("retriedThreadFlow", { limit: 10 });
    expect(row!.metrics.loss).toEqual({ last: 22, lastStep: 2, min: 20, max: 22, steps: 3 });
  });

  it("a bad value fails the thread task with the TypeError its call threw", async () => {
    const run = await badThreadFlow.run();
    expect(run.state.name).toBe("Failed");
    const [taskRun] = await engine.store.listTaskRuns(run.id);
    expect(taskRun!.error).toMatchObject({ name: "TypeError", message: 'logMetric("loss", value): value must be a finite number, got NaN' });
  });
});
