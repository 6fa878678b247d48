/**
 * Batch scoring: the weather model predicts every day of a data set (by default 2015, the data
 * that arrived after training), the predictions go to a CSV file, and where the data has labels
 * the flow reports how right they were.
 *
 *   loadDataset -> validateRows -> selectPeriod -> chooseModel -> scoreRows -> writePredictions
 *
 * `npx baton run examples/score.ts:score` scores with the latest trained model; pass
 * `--params-json '{"model": {...}}'` to score with another (a train run's `model`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { asset, flow, getRunContext, getRunLogger, materialize, task } from "../src/index.ts";
import { currentModel, MODEL_NAME } from "./ml/current-model.ts";
import { datasetPath, evaluate, loadForest, predictRows, WEATHER_CLASSES, type WeatherModel, type WeatherRow } from "./ml/weather.ts";
import { loadDataset, selectPeriod, validateRows, Years } from "./train.ts";

/** A model as the train flow returns it (`result.model`). */
export const WeatherModelParam = z.object({
  name: z.literal("weather"),
  params: z.object({ nEstimators: z.number().int(), maxDepth: z.number().int(), maxFeatures: z.number(), seed: z.number().int() }),
  metrics: z.object({ accuracy: z.number(), macroF1: z.number() }),
  trainedOn: z.object({ years: z.array(z.number().int()), rows: z.number().int() }),
  forest: z.record(z.string(), z.unknown()),
});

/** The model given, or the current one (see ml/current-model.ts). */
export const chooseModel = task(async function chooseModel(given: WeatherModel | null): Promise<WeatherModel & { version?: number }> {
  const model = given ?? (await currentModel());
  getRunLogger().info("model%s: %d trees of depth ≤ %d, trained on %s", "version" in model ? ` v${model.version}` : "", model.params.nEstimators, model.params.maxDepth, model.trainedOn.years.join("+"));
  return model;
});

export interface Prediction {
  date: string;
  predicted: string;
  actual: string;
}

export const scoreRows = task(async function scoreRows(model: WeatherModel, rows: WeatherRow[]): Promise<Prediction[]> {
  const predicted = predictRows(loadForest(model.forest), rows);
  return rows.map((r, i) => ({ date: r.date, predicted: predicted[i]!, actual: r.weather }));
});

/** Writes `date,predicted,actual` to a file named by the run (a retry rewrites the same file). */
export const PREDICTIONS = asset("dataset://weather/predictions");

export const writePredictions = task(async function writePredictions(predictions: Prediction[], outDir: string, name: string, modelVersion: number | null) {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.resolve(outDir, `${name}.csv`);
  const csv = ["date,predicted,actual", ...predictions.map((p) => `${p.date},${p.predicted},${p.actual}`)].join("\n") + "\n";
  fs.writeFileSync(file, csv);
  getRunLogger().info("wrote %d predictions to %s", predictions.length, file);
  // The predictions as a version of their data set (lineage: the data scored; metadata: the file and the model).
  await materialize(PREDICTIONS, { value: csv, rows: predictions.length, metadata: { file, model: modelVersion === null ? "given as a parameter" : `${MODEL_NAME} v${modelVersion}` } });
  return file;
});

const defaultOutDir = () => path.join(process.env.BATON_HOME ?? path.join(os.homedir(), ".baton"), "predictions");

export const ScoreParams = z.object({
  years: Years.default([2015]),
  dataset: z.string().optional(),
  /** Where the predictions' CSV goes (default $BATON_HOME/predictions). */
  outDir: z.string().min(1).optional(),
  /** A model as the train flow returns it; default the current model. */
  model: WeatherModelParam.optional(),
});
export type ScoreParams = z.input<typeof ScoreParams>;

export const score = flow(
  async function score(params: ScoreParams) {
    const p = ScoreParams.parse(params);
    const file = p.dataset ?? datasetPath();
    const rows = await selectPeriod(await validateRows(await loadDataset(file), file), p.years);
    const model = await chooseModel(p.model ?? null);
    const predictions = await scoreRows(model, rows);
    const written = await writePredictions(predictions, p.outDir ?? defaultOutDir(), `weather-${p.years.join("+")}-${getRunContext()!.flowRun.id}`, model.version ?? null);
    // Validation requires the weather column, so every scored day has its label.
    const metrics = evaluate(
      predictions.map((x) => WEATHER_CLASSES.indexOf(x.predicted as never)),
      predictions.map((x) => WEATHER_CLASSES.indexOf(x.actual as never)),
    );
    return { path: written, rows: predictions.length, accuracy: metrics.accuracy, macroF1: metrics.macroF1, model: { version: model.version ?? null, params: model.params, trainedOn: model.trainedOn } };
  },
  { params: ScoreParams, description: "weather classifier: batch scoring to CSV" },
);
