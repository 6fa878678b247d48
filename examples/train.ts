/**
 * The main job: a real ML pipeline on Baton.
 *
 *   loadDataset -> validateRows -> splitDataset -> trainModel x grid (worker threads, cached)
 *               -> evaluateModel x grid -> pickBest
 *
 * Seattle's daily weather 2012–2015 (1,461 days, vega-datasets): predict the day's weather
 * (sun, rain, drizzle, snow, fog) from precipitation, temperatures, wind and the season, with a
 * hyper-parameter search over random forests. Run it with `npm run example` (or
 * `npx baton run examples/train.ts --param seed=7`); run it again to see `Cached` training tasks.
 *
 * This module only defines tasks and flows: `trainModel` runs on worker threads, which import
 * this file again, so nothing may run at import time.
 */
import { z } from "zod";
import { RandomForestClassifier } from "ml-random-forest";
import { flow, getRunLogger, task, unmapped } from "../src/index.ts";
import {
  datasetPath,
  evaluate,
  readWeatherCsv,
  stratifiedSplit,
  toExample,
  toWeatherRows,
  trainForest,
  WEATHER_CLASSES,
  type Example,
  type HyperParams,
  type Metrics,
} from "./ml/weather.ts";

export const loadDataset = task(
  async function loadDataset(file: string) {
    const records = readWeatherCsv(file);
    getRunLogger().info("read %d records from %s", records.length, file);
    return records;
  },
  { retries: 2, retryDelayMs: 200, description: "read the CSV" },
);

export const validateRows = task(async function validateRows(records: Record<string, string>[]) {
  const { rows, rejected } = toWeatherRows(records);
  const log = getRunLogger();
  log.info("%d valid rows, %d rejected", rows.length, records.length - rows.length);
  for (const [why, n] of Object.entries(rejected)) log.warn("rejected %d rows: %s", n, why);
  if (rows.length < 100) throw new Error(`only ${rows.length} valid rows; need at least 100 to train`);
  return rows;
});

export const splitDataset = task(async function splitDataset(rows: ReturnType<typeof toWeatherRows>["rows"], testFraction: number, seed: number) {
  const split = stratifiedSplit(rows.map(toExample), testFraction, seed);
  getRunLogger().info("split: %d train / %d test rows", split.train.length, split.test.length);
  return split;
});

/** CPU-bound: trained on a worker thread; cached on its inputs (data and hyper-parameters). */
export const trainModel = task(
  async function trainModel(train: Example[], params: HyperParams) {
    const started = performance.now();
    const forest = trainForest(train, params);
    // toJSON() still holds tree-node class instances: a JSON round trip makes it plain data.
    const model = JSON.parse(JSON.stringify(forest.toJSON())) as Record<string, unknown>;
    return { params, model, trainMs: Math.round(performance.now() - started) };
  },
  { runner: "threads", cacheKey: "inputs", timeoutMs: 300_000, tags: ["cpu"] },
);

export const evaluateModel = task(async function evaluateModel(trained: { params: HyperParams; model: Record<string, unknown>; trainMs: number }, test: Example[]) {
  const forest = RandomForestClassifier.load(trained.model as never);
  const metrics = evaluate(
    forest.predict(test.map((e) => e.features)),
    test.map((e) => e.label),
  );
  return { params: trained.params, trainMs: trained.trainMs, ...metrics };
});

export const pickBest = task(async function pickBest(results: (Metrics & { params: HyperParams; trainMs: number })[]) {
  const ranked = [...results].sort((a, b) => b.macroF1 - a.macroF1 || b.accuracy - a.accuracy);
  const best = ranked[0]!;
  getRunLogger().info(
    "best of %d: nEstimators=%d maxDepth=%d -> accuracy %s, macro-F1 %s",
    results.length,
    best.params.nEstimators,
    best.params.maxDepth,
    best.accuracy.toFixed(3),
    best.macroF1.toFixed(3),
  );
  return best;
});

export const TrainParams = z.object({
  testFraction: z.number().gt(0).lt(1).default(0.25),
  seed: z.number().int().default(42),
  nEstimators: z.array(z.number().int().positive()).nonempty().default([10, 25]),
  maxDepth: z.array(z.number().int().positive()).nonempty().default([4, 8, 12]),
  maxFeatures: z.number().gt(0).lte(1).default(0.8),
  dataset: z.string().optional(),
});
export type TrainParams = z.input<typeof TrainParams>;

export const train = flow(
  async function train(params: TrainParams) {
    const p = TrainParams.parse(params);
    const records = await loadDataset(p.dataset ?? datasetPath());
    const rows = await validateRows(records);
    const split = await splitDataset(rows, p.testFraction, p.seed);
    const grid: HyperParams[] = p.nEstimators.flatMap((nEstimators) =>
      p.maxDepth.map((maxDepth) => ({ nEstimators, maxDepth, maxFeatures: p.maxFeatures, seed: p.seed })),
    );
    const models = trainModel.map(unmapped(split.train), grid);
    const scores = evaluateModel.map(models, unmapped(split.test));
    const best = await pickBest.submit(scores);
    return {
      classes: [...WEATHER_CLASSES],
      configurations: grid.length,
      best: { params: best.params, accuracy: best.accuracy, macroF1: best.macroF1, trainMs: best.trainMs },
      confusion: best.confusion,
    };
  },
  { params: TrainParams, retries: 1, retryDelayMs: 1000, timeoutMs: 600_000, description: "weather classifier: hyper-parameter search" },
);

export default train;
