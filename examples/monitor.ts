/**
 * Monitoring: is the newest data still like what the model learned from, and is the model still
 * right about it?
 *
 *   loadDataset -> validateRows -> selectPeriod (reference) / selectPeriod (current)
 *               -> checkDrift (PSI, KS, chi-square; emits `model.drift`, model `weather`)
 *               -> liveMetrics (accuracy and macro-F1 on the newest labelled days; emits `model.metric`)
 *
 * `detectDrift` emits one `model.drift` event per check (not one per drifted feature), so the
 * automation in examples/automations/retrain-on-drift.yaml starts one retraining run per check
 * that found drift. Each live metric is a `model.metric` event (reportModelMetric); one below its
 * minimum is also `model.metric.breached`, on which examples/automations/rollback-on-breach.yaml
 * rolls `production` back to the previous version and tells the team.
 */
import { z } from "zod";
import { createImageArtifact, createTableArtifact, detectDrift, flow, getRunLogger, reportModelMetric, task } from "../src/index.ts";
import { MODEL_NAME } from "./ml/current-model.ts";
import { distributionSvg } from "./ml/charts.ts";
import { datasetPath, driftRecord, DRIFT_FEATURES, evaluate, loadForest, toExample, type WeatherModel, type WeatherRow } from "./ml/weather.ts";
import { chooseModel, WeatherModelParam } from "./score.ts";
import { loadDataset, selectPeriod, validateRows, Years } from "./train.ts";

/** Compares the current rows with the reference, per feature; `model.drift` is emitted when any drifted. */
export const checkDrift = task(async function checkDrift(reference: WeatherRow[], current: WeatherRow[]) {
  const report = await detectDrift(reference.map(driftRecord), current.map(driftRecord), { features: DRIFT_FEATURES, model: MODEL_NAME });
  await createTableArtifact(
    report.features.map((f) => ({
      feature: f.feature,
      drifted: f.drifted,
      psi: f.psi === undefined ? null : Number(f.psi.toFixed(4)),
      ksStatistic: f.ks ? Number(f.ks.statistic.toFixed(4)) : null,
      pValue: Number((f.ks?.pValue ?? f.chiSquare?.pValue ?? NaN).toPrecision(3)),
      reasons: f.reasons.join("; "),
    })),
    { key: "weather-drift", description: `drift of ${report.currentSize} current days against ${report.referenceSize} reference days` },
  );
  await createImageArtifact(
    new TextEncoder().encode(distributionSvg(reference.map((r) => r.tempMax), current.map((r) => r.tempMax), "temp_max: reference against current", "°C")),
    { key: "weather-temp-max", description: "distribution of temp_max, reference against current" },
  );
  const log = getRunLogger();
  if (report.drifted) log.warn("drift in %s", report.driftedFeatures.join(", "));
  else log.info("no drift");
  return { drifted: report.drifted, driftedFeatures: report.driftedFeatures, psi: Object.fromEntries(report.features.filter((f) => f.psi !== undefined).map((f) => [f.feature, f.psi!])) };
});

/** The model's metrics on the newest labelled days, each emitted as a `model.metric` event. */
export const liveMetrics = task(async function liveMetrics(model: WeatherModel, version: number | null, rows: WeatherRow[], thresholds: { accuracy: number; macroF1: number }) {
  const examples = rows.map(toExample);
  const metrics = evaluate(
    loadForest(model.forest).predict(examples.map((e) => e.features)),
    examples.map((e) => e.label),
  );
  // Each metric is a `model.metric` event; one below its minimum is also `model.metric.breached`,
  // what examples/automations/rollback-on-breach.yaml rolls the model back on.
  const breached: string[] = [];
  for (const metric of ["accuracy", "macroF1"] as const) {
    const report = await reportModelMetric(MODEL_NAME, metric, metrics[metric], { min: thresholds[metric], ...(version === null ? {} : { version }) });
    if (report.breached) breached.push(report.reason!);
    getRunLogger()[report.breached ? "warn" : "info"]("live %s %s (minimum %s)", metric, metrics[metric].toFixed(3), thresholds[metric]);
  }
  return { accuracy: metrics.accuracy, macroF1: metrics.macroF1, f1ByClass: metrics.f1ByClass, rows: rows.length, breached };
});

export const MonitorParams = z.object({
  /** The period the model was trained on. */
  referenceYears: Years.default([2012]),
  /** The newest data. */
  currentYears: Years.default([2015]),
  /** Below these the model's live metric is breached (`model.metric.breached`). */
  minAccuracy: z.number().min(0).max(1).default(0.6),
  minMacroF1: z.number().min(0).max(1).default(0.3),
  dataset: z.string().optional(),
  /** A model as the train flow returns it; default the current model. */
  model: WeatherModelParam.optional(),
});
export type MonitorParams = z.input<typeof MonitorParams>;

export const monitor = flow(
  async function monitor(params: MonitorParams) {
    const p = MonitorParams.parse(params);
    const file = p.dataset ?? datasetPath();
    const rows = await validateRows(await loadDataset(file), file);
    const [reference, current] = await Promise.all([selectPeriod(rows, p.referenceYears), selectPeriod(rows, p.currentYears)]);
    // The model first: a monitor without one fails before it emits anything.
    const model = await chooseModel(p.model ?? null);
    const drift = await checkDrift(reference, current);
    const live = await liveMetrics(model, model.version ?? null, current, { accuracy: p.minAccuracy, macroF1: p.minMacroF1 });
    return { drift, live, model: { version: model.version ?? null, params: model.params, trainedOn: model.trainedOn } };
  },
  // No retries: a retried check would emit its drift again, and start a second retraining.
  { params: MonitorParams, description: "weather classifier: drift and live metrics" },
);
