/**
 * Plain data and model code for the weather example (no Baton here): reading Seattle's daily
 * weather from the vega-datasets package, features, a seeded split, training and metrics.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { parse } from "csv-parse/sync";
import { RandomForestClassifier } from "ml-random-forest";

export const WEATHER_CLASSES = ["sun", "rain", "drizzle", "snow", "fog"] as const;
export type WeatherClass = (typeof WEATHER_CLASSES)[number];

export interface WeatherRow {
  date: string;
  precipitation: number;
  tempMax: number;
  tempMin: number;
  wind: number;
  weather: WeatherClass;
}

/** A trained model as plain JSON: what the train flow returns and the score and monitor flows use. */
export interface WeatherModel {
  name: "weather";
  params: HyperParams;
  /** On the held-out split of the training period. */
  metrics: { accuracy: number; macroF1: number };
  trainedOn: { years: number[]; rows: number };
  /** The forest's own JSON (`RandomForestClassifier.load` reads it back). */
  forest: Record<string, unknown>;
}

export interface Example {
  features: number[];
  label: number;
}

export interface HyperParams {
  nEstimators: number;
  maxDepth: number;
  maxFeatures: number;
  seed: number;
}

/** The data set's path: vega-datasets ships its CSVs beside its (CDN-only) JS entry. */
export function datasetPath(file = "seattle-weather.csv"): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve("vega-datasets")), "..", "data", file);
}

export function readWeatherCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, "utf8"), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

/** The rows of the given calendar years (the example's reference period and its newer data). */
export function rowsOfYears(rows: readonly WeatherRow[], years: readonly number[]): WeatherRow[] {
  return rows.filter((r) => years.includes(Number(r.date.slice(0, 4))));
}

/** The columns drift is measured on, named as in the CSV. */
export const DRIFT_FEATURES = ["temp_max", "temp_min", "precipitation", "wind", "weather"] as const;

/** A row as the record `detectDrift` compares: the CSV's column names and values. */
export function driftRecord(row: WeatherRow): Record<(typeof DRIFT_FEATURES)[number], number | string> {
  return { temp_max: row.tempMax, temp_min: row.tempMin, precipitation: row.precipitation, wind: row.wind, weather: row.weather };
}

/** Features: the day's measurements plus the season as a point on the unit circle. */
export function toExample(row: WeatherRow): Example {
  const date = new Date(row.date);
  const dayOfYear = (Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000;
  const angle = (2 * Math.PI * dayOfYear) / 365.25;
  return {
    features: [row.precipitation, row.tempMax, row.tempMin, row.wind, row.tempMax - row.tempMin, Math.sin(angle), Math.cos(angle)],
    label: WEATHER_CLASSES.indexOf(row.weather),
  };
}

/** A small deterministic PRNG (mulberry32), so the split is the same for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stratified split: each class keeps its share in both parts. */
export function stratifiedSplit(examples: Example[], testFraction: number, seed: number): { train: Example[]; test: Example[] } {
  const random = seededRandom(seed);
  const train: Example[] = [];
  const test: Example[] = [];
  const byClass = new Map<number, Example[]>();
  for (const e of examples) byClass.set(e.label, [...(byClass.get(e.label) ?? []), e]);
  for (const group of byClass.values()) {
    const shuffled = group.map((e) => ({ e, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.e);
    const nTest = Math.round(shuffled.length * testFraction);
    test.push(...shuffled.slice(0, nTest));
    train.push(...shuffled.slice(nTest));
  }
  return { train, test };
}

export function trainForest(train: Example[], params: HyperParams): RandomForestClassifier {
  const forest = new RandomForestClassifier({
    nEstimators: params.nEstimators,
    maxFeatures: params.maxFeatures,
    seed: params.seed,
    replacement: true,
    useSampleBagging: true,
    noOOB: true, // OOB estimation crashes on some seeds (see ML-STACK.md)
    treeOptions: { maxDepth: params.maxDepth, minNumSamples: 3 },
  });
  forest.train(
    train.map((e) => e.features),
    train.map((e) => e.label),
  );
  return forest;
}

/** A trained forest from its plain JSON (what `trainModel` returns). */
export function loadForest(model: Record<string, unknown>): RandomForestClassifier {
  return RandomForestClassifier.load(model as never);
}

/** Class names predicted for rows, in order. */
export function predictRows(forest: RandomForestClassifier, rows: readonly WeatherRow[]): WeatherClass[] {
  return forest.predict(rows.map((r) => toExample(r).features)).map((c: number) => WEATHER_CLASSES[c]!);
}

export interface Metrics {
  accuracy: number;
  macroF1: number;
  /** F1 of each class; null for a class neither present nor predicted (left out of macroF1). */
  f1ByClass: Record<WeatherClass, number | null>;
  /** confusion[actual][predicted], classes in WEATHER_CLASSES order. */
  confusion: number[][];
  testRows: number;
}

export function evaluate(predicted: number[], actual: number[]): Metrics {
  const k = WEATHER_CLASSES.length;
  const confusion = Array.from({ length: k }, () => Array<number>(k).fill(0));
  predicted.forEach((p, i) => confusion[actual[i]!]![p]!++);
  const correct = confusion.reduce((sum, row, i) => sum + row[i]!, 0);
  const f1s: number[] = [];
  const f1ByClass = {} as Record<WeatherClass, number | null>;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c]!;
    const fp = confusion.reduce((s, row, i) => s + (i === c ? 0 : row[c]!), 0);
    const fn = confusion[c]!.reduce((s, v, j) => s + (j === c ? 0 : v), 0);
    // A class absent from the test split and never predicted has no F1.
    const f1 = tp + fp + fn === 0 ? null : (2 * tp) / (2 * tp + fp + fn);
    f1ByClass[WEATHER_CLASSES[c]!] = f1;
    if (f1 !== null) f1s.push(f1);
  }
  return {
    accuracy: correct / Math.max(1, actual.length),
    macroF1: f1s.reduce((a, b) => a + b, 0) / Math.max(1, f1s.length),
    f1ByClass,
    confusion,
    testRows: actual.length,
  };
}
