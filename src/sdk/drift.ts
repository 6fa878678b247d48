/**
 * `detectDrift`: compares a reference sample of records (what a model was trained on) with a
 * current one, feature by feature — PSI and Kolmogorov–Smirnov for numbers, chi-square for
 * categories — and, when a feature crosses a threshold, emits `model.drift` with the scores, so
 * that an automation can run the retraining deployment.
 *
 * @example
 * import { detectDrift, task } from "baton";
 * const check = task(async function checkDrift(p: { reference: Row[]; current: Row[] }) {
 *   const report = await detectDrift(p.reference, p.current, { features: ["temp_max", "wind", "weather"], model: "weather" });
 *   return report.driftedFeatures; // ["temp_max", "weather"]
 * });
 */
import { chiSquareTest, ksTest, populationStabilityIndex, type ChiSquareResult, type TestResult } from "../core/drift.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { emitEvent } from "./events.ts";

export type FeatureKind = "numeric" | "categorical";

export interface DriftThresholds {
  /** A numeric feature drifts at a population stability index at or above this (default 0.2). */
  psi?: number;
  /** … or at a Kolmogorov–Smirnov p-value below this (default 0.01; 0 turns the test off). */
  ksPValue?: number;
  /** A categorical feature drifts at a chi-square p-value below this (default 0.01). */
  chiSquarePValue?: number;
}

export interface DriftOptions {
  /** The features to compare: names (numeric when every reference value is a number), or name → kind. */
  features: readonly string[] | Readonly<Record<string, FeatureKind>>;
  thresholds?: DriftThresholds;
  /** Quantile bins for the PSI (default 10). */
  bins?: number;
  /** The model the data feeds: the event's resource (`model:NAME`); outside a run it is required to emit. */
  model?: string;
  /** Emit `model.drift` when a feature drifts (default true). */
  emit?: boolean;
}

export interface FeatureDrift {
  feature: string;
  kind: FeatureKind;
  psi?: number;
  ks?: TestResult;
  chiSquare?: ChiSquareResult;
  /** Records whose value was missing (null, undefined, NaN or ""), left out of the tests. */
  missing: { reference: number; current: number };
  drifted: boolean;
  /** Why it drifted, e.g. "psi 0.225 ≥ 0.2". */
  reasons: string[];
}

export interface DriftReport {
  drifted: boolean;
  driftedFeatures: string[];
  features: FeatureDrift[];
  thresholds: Required<DriftThresholds>;
  referenceSize: number;
  currentSize: number;
}

const DEFAULT_THRESHOLDS: Required<DriftThresholds> = { psi: 0.2, ksPValue: 0.01, chiSquarePValue: 0.01 };

type Row = Readonly<Record<string, unknown>>;
const isMissing = (v: unknown) => v === null || v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v));

function checkedOptions(options: DriftOptions): { features: [string, FeatureKind | undefined][]; thresholds: Required<DriftThresholds> } {
  if (options === null || typeof options !== "object") throw new TypeError("detectDrift(reference, current, options): options must be an object { features, thresholds?, bins?, model?, emit? }");
  const { features } = options;
  const list: [string, FeatureKind | undefined][] = Array.isArray(features)
    ? features.map((f) => [f, undefined])
    : features !== null && typeof features === "object"
      ? Object.entries(features as Record<string, unknown>).map(([f, kind]) => {
          if (kind !== "numeric" && kind !== "categorical") throw new TypeError(`detectDrift options.features.${f} must be "numeric" or "categorical", got ${JSON.stringify(kind)}`);
          return [f, kind];
        })
      : [];
  if (!list.length) throw new TypeError("detectDrift options.features must name at least one feature (an array of names, or { name: \"numeric\" | \"categorical\" })");
  const bad = list.find(([f]) => typeof f !== "string" || f === "");
  if (bad) throw new TypeError(`detectDrift options.features: ${JSON.stringify(bad[0])} is not a feature name`);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...(options.thresholds ?? {}) };
  for (const [name, value] of Object.entries(thresholds))
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new TypeError(`detectDrift options.thresholds.${name} must be a number ≥ 0, got ${JSON.stringify(value)}`);
  if (thresholds.ksPValue > 1 || thresholds.chiSquarePValue > 1) throw new TypeError("detectDrift options.thresholds: p-value thresholds must be between 0 and 1");
  if (options.model !== undefined && (typeof options.model !== "string" || !options.model)) throw new TypeError("detectDrift options.model must be a non-empty string");
  return { features: list, thresholds };
}

function column(rows: readonly Row[], feature: string, what: string): { values: unknown[]; missing: number } {
  const values: unknown[] = [];
  let missing = 0;
  let seen = false;
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object") throw new TypeError(`detectDrift ${what}[${i}] must be a record (an object of feature values)`);
    if (feature in row) seen = true;
    const v = row[feature];
    if (isMissing(v)) missing++;
    else values.push(v);
  });
  if (!seen) throw new TypeError(`detectDrift: no record of ${what} has the feature "${feature}"`);
  return { values, missing };
}

function numbers(values: unknown[], feature: string, what: string): number[] {
  const bad = values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) throw new TypeError(`detectDrift: feature "${feature}" is numeric but ${what} has ${JSON.stringify(values[bad])}; convert it to a number, or declare the feature "categorical"`);
  return values as number[];
}

/** Scores every feature; emits `model.drift` (inside a run, related to it) when any drifted. */
export async function detectDrift(reference: readonly Row[], current: readonly Row[], options: DriftOptions): Promise<DriftReport> {
  if (!Array.isArray(reference) || !reference.length) throw new TypeError("detectDrift(reference): reference must be a non-empty array of records");
  if (!Array.isArray(current) || !current.length) throw new TypeError("detectDrift(current): current must be a non-empty array of records");
  const { features, thresholds } = checkedOptions(options);
  const results = features.map(([feature, declared]): FeatureDrift => {
    const ref = column(reference, feature, "reference");
    const cur = column(current, feature, "current");
    if (!ref.values.length || !cur.values.length) throw new TypeError(`detectDrift: feature "${feature}" has no values in ${ref.values.length ? "current" : "reference"}`);
    const kind = declared ?? (ref.values.every((v) => typeof v === "number") ? "numeric" : "categorical");
    const missing = { reference: ref.missing, current: cur.missing };
    const reasons: string[] = [];
    if (kind === "categorical") {
      const chiSquare = chiSquareTest(ref.values, cur.values);
      if (chiSquare.pValue < thresholds.chiSquarePValue) reasons.push(`chi-square p ${chiSquare.pValue.toPrecision(2)} < ${thresholds.chiSquarePValue}`);
      return { feature, kind, chiSquare, missing, drifted: reasons.length > 0, reasons };
    }
    const a = numbers(ref.values, feature, "reference");
    const b = numbers(cur.values, feature, "current");
    const psi = populationStabilityIndex(a, b, { bins: options.bins ?? 10 });
    const ks = ksTest(a, b);
    if (psi >= thresholds.psi) reasons.push(`psi ${psi.toFixed(3)} ≥ ${thresholds.psi}`);
    if (ks.pValue < thresholds.ksPValue) reasons.push(`ks p ${ks.pValue.toPrecision(2)} < ${thresholds.ksPValue}`);
    return { feature, kind, psi, ks, missing, drifted: reasons.length > 0, reasons };
  });
  const driftedFeatures = results.filter((r) => r.drifted).map((r) => r.feature);
  const report: DriftReport = { drifted: driftedFeatures.length > 0, driftedFeatures, features: results, thresholds, referenceSize: reference.length, currentSize: current.length };
  if (report.drifted && options.emit !== false) {
    if (!options.model && !currentEngineContext()) throw new TypeError("detectDrift outside a flow or task run: pass options.model to say what drifted, or emit: false");
    const scores = Object.fromEntries(results.map((r) => [r.feature, { kind: r.kind, drifted: r.drifted, psi: r.psi, ksStatistic: r.ks?.statistic, ksPValue: r.ks?.pValue, chiSquare: r.chiSquare?.statistic, chiSquarePValue: r.chiSquare?.pValue }]));
    const psis = results.flatMap((r) => (r.psi === undefined ? [] : [r.psi]));
    await emitEvent("model.drift", {
      ...(options.model ? { resource: { id: `model:${options.model}`, name: options.model, labels: { kind: "model" } } } : {}),
      payload: { model: options.model ?? null, driftedFeatures, maxPsi: psis.length ? Math.max(...psis) : null, scores, thresholds, referenceSize: reference.length, currentSize: current.length },
    });
  }
  return report;
}
