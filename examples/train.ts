/**
 * The main job: a real ML pipeline on Baton.
 *
 *   loadDataset -> validateRows -> selectPeriod -> splitDataset
 *               -> trainModel x grid (worker threads, cached) -> evaluateModel x grid
 *               -> pickBest -> reportSearch (table, confusion matrix and F1 chart artifacts)
 *
 * Seattle's daily weather (vega-datasets): predict the day's weather (sun, rain, drizzle, snow,
 * fog) from precipitation, temperatures, wind and the season, with a hyper-parameter search over
 * random forests. The model trains on a reference period (2012 by default); 2015 plays the newer
 * data it meets later (examples/monitor.ts), and retraining trains on both
 * (examples/deployments.ts). Run it with `npm run example` (or
 * `npx baton run examples/train.ts --param seed=7`); run it again to see `Cached` training tasks.
 *
 * The flow returns the best model as plain JSON with its metrics (`model`), which
 * examples/score.ts and examples/monitor.ts use.
 *
 * This module only defines tasks and flows: `trainModel` runs on worker threads, which import
 * this file again, so nothing may run at import time.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  asset,
  createImageArtifact,
  createMarkdownArtifact,
  createTableArtifact,
  flow,
  getRunLogger,
  logMetrics,
  logParams,
  materialize,
  promoteModel,
  registerModel,
  task,
  unmapped,
} from "../src/index.ts";
import { MODEL_NAME } from "./ml/current-model.ts";
import { confusionMarkdown, f1BarsSvg } from "./ml/charts.ts";
import { validateWeather } from "./ml/validate.ts";
import {
  datasetPath,
  evaluate,
  loadForest,
  readWeatherCsv,
  rowsOfYears,
  stratifiedSplit,
  toExample,
  trainForest,
  WEATHER_CLASSES,
  type Example,
  type HyperParams,
  type Metrics,
  type WeatherModel,
  type WeatherRow,
} from "./ml/weather.ts";

/** The training data: a version per content of the split (a new one only when the data or the split changed). */
export const TRAINING_DATA = asset("dataset://weather/training");

/** Reads the CSV and records the file's content as a version of its asset (new only when the file changed). */
export const loadDataset = task(
  async function loadDataset(file: string) {
    const records = readWeatherCsv(file);
    getRunLogger().info("read %d records from %s", records.length, file);
    await materialize(asset(`file://${path.resolve(file)}`), { value: fs.readFileSync(file, "utf8"), rows: records.length });
    return records;
  },
  { retries: 2, retryDelayMs: 200, description: "read the CSV" },
);

/** Stops the run with a `WeatherDataError` naming each column and problem (schema, ranges, missing values). */
export const validateRows = task(
  async function validateRows(records: Record<string, string>[], source: string) {
    const rows = validateWeather(records, source);
    getRunLogger().info("%d rows valid", rows.length);
    return rows;
  },
  { description: "schema, ranges and missing values" },
);

export const selectPeriod = task(async function selectPeriod(rows: WeatherRow[], years: number[]) {
  const selected = rowsOfYears(rows, years);
  if (selected.length < 100) throw new Error(`only ${selected.length} rows in ${years.join(", ")}; need at least 100 to train`);
  getRunLogger().info("%d rows of %s", selected.length, years.join(", "));
  return selected;
});

export const splitDataset = task(
  async function splitDataset(rows: WeatherRow[], testFraction: number, seed: number) {
    const split = stratifiedSplit(rows.map(toExample), testFraction, seed);
    getRunLogger().info("split: %d train / %d test rows", split.train.length, split.test.length);
    return split;
  },
  { writes: [TRAINING_DATA] }, // versioned by the split's content; its lineage reaches the CSV it came from
);

interface Trained {
  params: HyperParams;
  model: Record<string, unknown>;
  trainMs: number;
}

/** CPU-bound: trained on a worker thread; cached on its inputs (data and hyper-parameters). */
export const trainModel = task(
  async function trainModel(train: Example[], params: HyperParams): Promise<Trained> {
    const started = performance.now();
    const forest = trainForest(train, params);
    // toJSON() still holds tree-node class instances: a JSON round trip makes it plain data.
    const model = JSON.parse(JSON.stringify(forest.toJSON())) as Record<string, unknown>;
    return { params, model, trainMs: Math.round(performance.now() - started) };
  },
  { runner: "threads", cacheKey: "inputs", timeoutMs: 300_000, tags: ["cpu"] },
);

type Scored = Metrics & { params: HyperParams; trainMs: number };

/** Scores a configuration; its parameters and metrics make one row of the experiment `weather-model`. */
export const evaluateModel = task(async function evaluateModel(trained: Trained, test: Example[]): Promise<Scored> {
  const forest = loadForest(trained.model);
  const metrics = evaluate(
    forest.predict(test.map((e) => e.features)),
    test.map((e) => e.label),
  );
  await logParams({ ...trained.params });
  await logMetrics({ accuracy: metrics.accuracy, macroF1: metrics.macroF1 });
  return { params: trained.params, trainMs: trained.trainMs, ...metrics };
});

/** The index of the best configuration: highest macro-F1, then accuracy. */
export const pickBest = task(async function pickBest(results: Scored[]) {
  const order = results.map((_, i) => i).sort((a, b) => results[b]!.macroF1 - results[a]!.macroF1 || results[b]!.accuracy - results[a]!.accuracy);
  const best = results[order[0]!]!;
  getRunLogger().info(
    "best of %d: nEstimators=%d maxDepth=%d -> accuracy %s, macro-F1 %s",
    results.length,
    best.params.nEstimators,
    best.params.maxDepth,
    best.accuracy.toFixed(3),
    best.macroF1.toFixed(3),
  );
  return order[0]!;
});

/** The search as a table (one row per configuration), the best model's confusion matrix and F1 per class. */
export const reportSearch = task(async function reportSearch(results: Scored[], bestIndex: number, years: number[]) {
  const period = years.join("+");
  await createTableArtifact(
    results.map((r, i) => ({
      nEstimators: r.params.nEstimators,
      maxDepth: r.params.maxDepth,
      maxFeatures: r.params.maxFeatures,
      accuracy: Number(r.accuracy.toFixed(4)),
      macroF1: Number(r.macroF1.toFixed(4)),
      trainMs: r.trainMs,
      best: i === bestIndex,
    })),
    { key: "weather-search", description: `hyper-parameter search, trained on ${period}` },
  );
  const best = results[bestIndex]!;
  await createMarkdownArtifact(confusionMarkdown(best.confusion, `Confusion matrix of the best model (${best.testRows} held-out days of ${period})`), {
    key: "weather-confusion",
    description: "best model on the held-out split",
  });
  await createImageArtifact(new TextEncoder().encode(f1BarsSvg(best.f1ByClass, `F1 per class, best model (${period})`)), {
    key: "weather-f1",
    description: "best model's F1 per class on the held-out split",
  });
});

/**
 * Registers the best model as the next version of `weather` (its metrics, parameters, and its
 * lineage: this run and the data it read), then moves `production` to it only through the gate.
 */
export const registerAndPromote = task(async function registerAndPromote(model: WeatherModel, promoteIf: "better" | "always" | "never") {
  const version = await registerModel(MODEL_NAME, {
    value: model,
    metrics: model.metrics,
    params: { ...model.params, years: model.trainedOn.years },
    description: `random forest trained on ${model.trainedOn.years.join("+")} (${model.trainedOn.rows} days)`,
  });
  if (promoteIf === "never") return { version: version.version, promoted: false, reason: "promoteIf: never" };
  const outcome = await promoteModel(MODEL_NAME, version.version, {
    gate: promoteIf === "always" ? () => true : [{ metric: "macroF1", min: 0.3, betterThanCurrent: true }],
  });
  getRunLogger().info(outcome.promoted ? "version %d is in production" : "version %d not promoted: %s", version.version, outcome.promoted ? "" : outcome.reason);
  return outcome.promoted ? { version: version.version, promoted: true, reason: null } : { version: version.version, promoted: false, reason: outcome.reason };
});

/** Calendar years of the data set (it covers 2012–2015). */
export const Years = z.array(z.number().int().min(2012).max(2015)).nonempty();

export const TrainParams = z.object({
  /** The calendar years trained on: the reference period (2012), or reference + current when retraining. */
  years: Years.default([2012]),
  testFraction: z.number().gt(0).lt(1).default(0.25),
  seed: z.number().int().default(42),
  nEstimators: z.array(z.number().int().positive()).nonempty().default([10, 25]),
  maxDepth: z.array(z.number().int().positive()).nonempty().default([4, 8, 12]),
  maxFeatures: z.number().gt(0).lte(1).default(0.8),
  dataset: z.string().optional(),
  /** When the new version goes to production: "better" (macro-F1 above the production version's, and at least 0.3), "always", or "never". */
  promoteIf: z.enum(["better", "always", "never"]).default("better"),
});
export type TrainParams = z.input<typeof TrainParams>;

export const train = flow(
  async function train(params: TrainParams) {
    const p = TrainParams.parse(params);
    await logParams({ years: p.years, testFraction: p.testFraction, seed: p.seed });
    const file = p.dataset ?? datasetPath();
    const records = await loadDataset(file);
    const rows = await validateRows(records, file);
    const period = await selectPeriod(rows, p.years);
    const split = await splitDataset(period, p.testFraction, p.seed);
    const grid: HyperParams[] = p.nEstimators.flatMap((nEstimators) =>
      p.maxDepth.map((maxDepth) => ({ nEstimators, maxDepth, maxFeatures: p.maxFeatures, seed: p.seed })),
    );
    const models = trainModel.map(unmapped(split.train), grid);
    const scores = await Promise.all(evaluateModel.map(models, unmapped(split.test)));
    const bestIndex = await pickBest(scores);
    await reportSearch(scores, bestIndex, p.years);
    const best = scores[bestIndex]!;
    const model: WeatherModel = {
      name: "weather",
      params: best.params,
      metrics: { accuracy: best.accuracy, macroF1: best.macroF1 },
      trainedOn: { years: p.years, rows: period.length },
      forest: (await models[bestIndex]!).model,
    };
    const registered = await registerAndPromote(model, p.promoteIf);
    // Metrics first: `baton run` previews the start of the result; the forest comes last.
    return {
      registered,
      classes: [...WEATHER_CLASSES],
      years: p.years,
      configurations: grid.length,
      best: { params: best.params, accuracy: best.accuracy, macroF1: best.macroF1, f1ByClass: best.f1ByClass, trainMs: best.trainMs },
      confusion: best.confusion,
      model,
    };
  },
  // No flow retries: the search is deterministic, reading the file has its own retries, and a
  // task's NonRetryableError (a file failing validation) would not stop a flow-level retry.
  { params: TrainParams, experiment: "weather-model", timeoutMs: 600_000, description: "weather classifier: hyper-parameter search" },
);

export default train;
