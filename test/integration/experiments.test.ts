/**
 * Experiment tracking through the public API, on SQLite, PostgreSQL and the remote client (a
 * real server in this process): a hyper-parameter search with `map` gives one run per
 * configuration with its parameters, metric curves and summaries; a retried task redraws its
 * curve; runs compare side by side; deleting a flow run deletes what it logged; bad values name
 * what is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, logMetric, logMetrics, logParams, task } from "../../src/index.ts";
import { RemoteExperiments } from "../../src/client/remote-experiments.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { KyselyExperimentViews, type ExperimentViews } from "../../src/store/experiment-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { ENGINE_BACKENDS, configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(ENGINE_BACKENDS)("experiment tracking on %s", (backend) => {
  let engine: EngineDatabase;
  let views: ExperimentViews;
  beforeAll(async () => {
    engine = await configureEngine(backend);
    views = engine.store instanceof RemoteStore ? new RemoteExperiments(engine.store.api) : new KyselyExperimentViews(engine.store as KyselyStore);
  });
  afterAll(() => engine.close());

  const train = task(async function trainConfig(cfg: { depth: number; lr: number }) {
    await logParams({ ...cfg, layers: [64, 32] });
    for (let epoch = 0; epoch < 5; epoch++) void logMetric("loss", 1 / (epoch + 1 + cfg.depth)); // not awaited: still stored
    await logMetrics({ macroF1: 0.5 + cfg.depth / 100, accuracy: 0.9 });
    return cfg.depth;
  });
  const search = flow(
    async function hyperSearch(p: { depths: number[] }) {
      await logParams({ searchSize: p.depths.length });
      const depths = await Promise.all(train.map(p.depths.map((depth) => ({ depth, lr: 0.1 }))));
      await logMetric("best", Math.max(...depths));
      return depths;
    },
    { experiment: "weather-model" },
  );

  it("a map search: one run per configuration with its parameters, curve and last values; the flow run too", async () => {
    await search({ depths: [3, 5, 8] });
    const experiments = await views.listExperiments();
    expect(experiments).toContainEqual(expect.objectContaining({ name: "weather-model", runs: 4 }));
    const runs = await views.experimentRuns("weather-model", { limit: 100 });
    expect(runs).toHaveLength(4);
    const flowRow = runs.find((r) => r.taskRunId === null)!;
    expect(flowRow).toMatchObject({ params: { searchSize: 3 }, stateName: "Completed", flowName: "hyperSearch" });
    expect(flowRow.metrics.best).toMatchObject({ last: 8, steps: 1 });
    const deep = runs.find((r) => r.params.depth === 8)!;
    expect(deep).toMatchObject({ params: { depth: 8, lr: 0.1, layers: [64, 32] }, stateName: "Completed", name: expect.stringMatching(/^trainConfig-\d$/) });
    expect(deep.metrics.loss).toEqual({ last: 1 / 13, lastStep: 4, min: 1 / 13, max: 1 / 9, steps: 5 });
    expect(deep.metrics.macroF1!.last).toBeCloseTo(0.58, 10);

    const history = await views.metricHistory(deep.runId, { limit: 1000 });
    expect(history!.metrics.loss!.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    expect((await views.metricHistory(deep.runId, { names: ["accuracy"], limit: 1000 }))!.metrics).toEqual({ accuracy: [expect.objectContaining({ step: 0, value: 0.9 })] });
    expect(await views.metricHistory("0193aaaa-0000-7000-8000-000000000000", { limit: 10 })).toBeUndefined();

    const compared = await views.getExperimentRuns([deep.runId, flowRow.runId, "0193aaaa-0000-7000-8000-000000000000"]);
    expect(compared.map((r) => r.runId)).toEqual([deep.runId, flowRow.runId]);
  });

  it("a retried task logs its curve again over the same steps instead of doubling it; explicit steps replace", async () => {
    let attempts = 0;
    const flaky = task(
      async function flakyTrain() {
        attempts++;
        for (let step = 0; step < 3; step++) await logMetric("loss", attempts * 10 + step);
        await logMetric("lr", 0.5, { step: 7 });
        await logMetric("lr", 0.25, { step: 7 });
        if (attempts === 1) throw new Error("diverged");
      },
      { retries: 1 },
    );
    const run = flow(async function retriedTraining() {
      await flaky();
    });
    await run();
    const [row] = await views.experimentRuns("retriedTraining", { limit: 10 });
    expect(row!.metrics.loss).toEqual({ last: 22, lastStep: 2, min: 20, max: 22, steps: 3 });
    expect(row!.metrics.lr).toEqual({ last: 0.25, lastStep: 7, min: 0.25, max: 0.25, steps: 1 });
  });

  it("bad values throw a TypeError naming what is wrong, and nothing is logged outside a run", async () => {
    await expect(async () => logParams({ a: 1 })).rejects.toThrow("logParams needs a running flow");
    const bad = flow(async function badValues(p: { which: string }) {
      if (p.which === "nan") await logMetric("loss", Number.NaN);
      if (p.which === "step") await logMetric("loss", 1, { step: -1 });
      if (p.which === "name") await logMetric("", 1);
      if (p.which === "param") await logParams({ fn: () => 1 });
      if (p.which === "bigint") await logParams({ n: 1n });
      if (p.which === "metrics") await logMetrics({ f1: "0.5" as unknown as number });
    });
    await expect(bad({ which: "nan" })).rejects.toThrow('logMetric("loss", value): value must be a finite number, got NaN');
    await expect(bad({ which: "step" })).rejects.toThrow("step must be a whole number ≥ 0, got -1");
    await expect(bad({ which: "name" })).rejects.toThrow("logMetric(name) must be a non-empty name");
    await expect(bad({ which: "param" })).rejects.toThrow("logParams(params).fn is not JSON (got function)");
    await expect(bad({ which: "bigint" })).rejects.toThrow("logParams(params).n is not JSON");
    await expect(bad({ which: "metrics" })).rejects.toThrow('logMetrics("f1", value): value must be a finite number');
    expect((await views.listExperiments()).map((e) => e.name)).not.toContain("badValues");
  });

  it("deleting a flow run deletes what it and its task runs logged", async () => {
    const small = flow(async function toDelete() {
      await logParams({ k: 1 });
      await train({ depth: 1, lr: 0.2 });
    });
    await small();
    const runs = await views.experimentRuns("toDelete", { limit: 10 });
    expect(runs).toHaveLength(2);
    expect(await engine.store.deleteFlowRun(runs[0]!.flowRunId)).toBe(true);
    expect(await views.experimentRuns("toDelete", { limit: 10 })).toEqual([]);
  });
});
