/**
 * The main job, end to end on a fresh SQLite store: real data, real models on worker threads,
 * its artifacts, a second run served from the cache, and validation that stops a broken CSV.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, loadModel, shutdown } from "../../src/index.ts";
import { KyselyAssetViews } from "../../src/store/asset-store.ts";
import { KyselyModelStore } from "../../src/store/model-store.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { KyselyExperimentViews } from "../../src/store/experiment-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { train } from "../../examples/train.ts";
import { score } from "../../examples/score.ts";
import { monitor } from "../../examples/monitor.ts";
import { validateWeather } from "../../examples/ml/validate.ts";
import { datasetPath, loadForest, predictRows, readWeatherCsv, rowsOfYears } from "../../examples/ml/weather.ts";

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
  const getModelMoves = async (name: string) => (await new KyselyModelStore((await getRuntime()).store as KyselyStore).getModel(name))!.moves;

  it("trains on the reference year, evaluates and picks a real model, recording every task run", async () => {
    const run = await train.run(params);
    expect(run.state.name, run.error?.message).toBe("Completed");
    const result = run.result!;
    expect(result.configurations).toBe(2);
    expect(result.years).toEqual([2012]);
    expect(result.best.accuracy).toBeGreaterThan(0.6); // always guessing 2012's commonest class, rain, scores ~0.52
    expect(result.best.macroF1).toBeGreaterThan(0.25);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(92); // a quarter of 2012's 366 days
    // The best model travels as plain JSON with its metrics, and predicts once loaded again.
    expect(result.model).toMatchObject({ name: "weather", params: result.best.params, metrics: { accuracy: result.best.accuracy, macroF1: result.best.macroF1 }, trainedOn: { years: [2012], rows: 366 } });
    const rows = rowsOfYears(validateWeather(readWeatherCsv(datasetPath()), "csv"), [2015]);
    const predicted = predictRows(loadForest(result.model.forest), rows);
    expect(predicted).toHaveLength(365);
    expect(new Set(predicted).size).toBeGreaterThan(1);

    const store = (await getRuntime()).store;
    const taskRuns = await store.listTaskRuns(run.id);
    expect(taskRuns.map((t) => t.taskKey).sort()).toEqual(
      ["evaluateModel-0", "evaluateModel-1", "loadDataset-0", "pickBest-0", "registerAndPromote-0", "reportSearch-0", "selectPeriod-0", "splitDataset-0", "trainModel-0", "trainModel-1", "validateRows-0"].sort(),
    );
    expect(taskRuns.every((t) => t.state.name === "Completed")).toBe(true);
    const logs = await store.listLogs({ flowRunId: run.id });
    expect(logs.some((l) => l.message.includes("read 1461 records"))).toBe(true);
    expect(logs.some((l) => l.message.includes("366 rows of 2012"))).toBe(true);
    expect((await store.listDependencies(run.id)).length).toBeGreaterThanOrEqual(5);

    // The search in the experiment "weather-model": the flow run, and a row per configuration.
    const experiment = (await new KyselyExperimentViews(store as KyselyStore).experimentRuns("weather-model", { limit: 50 })).filter((r) => r.flowRunId === run.id);
    expect(experiment.find((r) => r.taskRunId === null)!.params).toEqual({ years: [2012], testFraction: 0.25, seed: 7 });
    const configurations = experiment.filter((r) => r.taskRunId !== null).sort((a, b) => Number(a.params.maxDepth) - Number(b.params.maxDepth));
    expect(configurations.map((r) => r.params)).toEqual([4, 8].map((maxDepth) => ({ nEstimators: 8, maxDepth, maxFeatures: 0.8, seed: 7 })));
    expect(Math.max(...configurations.map((r) => r.metrics.macroF1!.last))).toBe(result.best.macroF1);

    const artifacts = Object.fromEntries((await store.listArtifacts({ flowRunId: run.id })).map((a) => [a.key, a]));
    const table = artifacts["weather-search"]!.data as Record<string, unknown>[];
    expect(table).toHaveLength(2);
    expect(table.map((r) => r.maxDepth).sort()).toEqual([4, 8]);
    expect(table.filter((r) => r.best)).toEqual([expect.objectContaining({ macroF1: Number(result.best.macroF1.toFixed(4)), maxDepth: result.best.params.maxDepth })]);
    expect(artifacts["weather-confusion"]!.type).toBe("markdown");
    expect(String(artifacts["weather-confusion"]!.data)).toContain("| **rain** |");
    expect(artifacts["weather-f1"]!.type).toBe("image");
    expect(artifacts["weather-f1"]!.data).toMatchObject({ mimeType: "image/svg+xml" });
  });

  it("registers the best model as version 1 of weather and promotes it (nothing in production yet)", async () => {
    const model = await loadModel<{ params: unknown }>("weather", { alias: "production" });
    expect(model.version).toBe(1);
    const moves = (await getModelMoves("weather")).map((m) => [m.kind, m.from, m.to]);
    expect(moves).toEqual([["promoted", null, 1]]);
  });

  it("on a second run: cached training tasks, no new data set version, and a new model version the gate refuses", async () => {
    const again = await train.run(params);
    expect(again.state.name).toBe("Completed");
    const store = (await getRuntime()).store;
    const states = Object.fromEntries((await store.listTaskRuns(again.id)).map((t) => [t.taskKey, t.state.name]));
    expect(states["trainModel-0"]).toBe("Cached");
    expect(states["trainModel-1"]).toBe("Cached");
    expect(states["loadDataset-0"]).toBe("Completed");
    // The same file and the same split: the data sets keep their one version.
    const assets = new KyselyAssetViews(store as KyselyStore);
    expect((await assets.getAsset("dataset://weather/training", { limit: 10 }))!.total).toBe(1);
    expect((await assets.getAsset(`file://${datasetPath()}`, { limit: 10 }))!.total).toBe(1);
    // The same model again is version 2, and no better than version 1: refused, recorded with its reason.
    expect(again.result!.registered).toEqual({ version: 2, promoted: false, reason: expect.stringMatching(/^macroF1 0\.\d+ is not better than version 1's/) });
    expect((await loadModel("weather")).version).toBe(1);
    // A different split is a new version of the training data, whose model the lineage traces to it.
    const reseeded = await train.run({ ...params, seed: 8, promoteIf: "never" });
    expect(reseeded.result!.registered).toMatchObject({ version: 3, promoted: false });
    const training = (await assets.getAsset("dataset://weather/training", { limit: 10 }))!;
    expect(training.total).toBe(2);
    const lineage = (await assets.lineage("model://weather", { direction: "upstream", depth: 10, version: "v3" }))!;
    const upstream = lineage.nodes.flatMap((n) => (n.version ? [`${n.version.key}@${n.version.version}`] : []));
    expect(upstream).toContain(`dataset://weather/training@${training.versions[0]!.version}`);
    expect(upstream).toContain(`file://${datasetPath()}@${(await assets.getAsset(`file://${datasetPath()}`, { limit: 1 }))!.versions[0]!.version}`);
  });

  it("scores 2015 with the latest trained model into a CSV, and with a model given as a parameter", async () => {
    const trained = (await train.run(params)).result!;
    const outDir = path.join(dir, "predictions");
    const run = await score.run({ outDir });
    expect(run.state.name, run.error?.message).toBe("Completed");
    const result = run.result!;
    expect(result.rows).toBe(365);
    expect(result.path.startsWith(outDir)).toBe(true);
    const lines = fs.readFileSync(result.path, "utf8").trim().split("\n");
    expect(lines[0]).toBe("date,predicted,actual");
    expect(lines).toHaveLength(366);
    expect(lines[1]).toMatch(/^2015-01-01,(sun|rain|drizzle|snow|fog),(sun|rain|drizzle|snow|fog)$/);
    const right = lines.slice(1).filter((l) => l.split(",")[1] === l.split(",")[2]).length;
    expect(result.accuracy).toBeCloseTo(right / 365, 10);
    expect(result.accuracy).toBeGreaterThan(0.5);
    expect(result.model).toEqual({ version: 1, params: trained.model.params, trainedOn: trained.model.trainedOn }); // production: version 1, the same model
    // The predictions are a version of their data set, made from the scored CSV and model v1.
    const assets = new KyselyAssetViews((await getRuntime()).store as KyselyStore);
    const predictions = (await assets.getAsset("dataset://weather/predictions", { limit: 10 }))!;
    expect(predictions.versions[0]).toMatchObject({ rows: 365, flowRunId: run.id, metadata: { file: result.path, model: "weather v1" } });
    const lineage = (await assets.lineage("dataset://weather/predictions", { direction: "upstream", depth: 10, version: predictions.versions[0]!.version }))!;
    const upstream = lineage.nodes.flatMap((n) => (n.version ? [`${n.version.key}@${n.version.version}`] : []));
    expect(upstream).toContain("model://weather@v1");
    expect(upstream.some((k) => k.startsWith(`file://${datasetPath()}@`))).toBe(true);

    // A model trained elsewhere, given as JSON: a shallow one scores differently.
    const shallow = (await train.run({ ...params, maxDepth: [2], nEstimators: [3] })).result!.model;
    const given = await score.run({ outDir, model: shallow, years: [2014] });
    expect(given.state.name, given.error?.message).toBe("Completed");
    expect(given.result!.rows).toBe(365);
    expect(given.result!.model.params.maxDepth).toBe(2);
    expect(given.result!.path).not.toBe(result.path);
    // Other predictions, another version of the data set.
    expect((await assets.getAsset("dataset://weather/predictions", { limit: 10 }))!.total).toBe(predictions.total + 1);
  });

  it("monitors 2015 against 2012: drift in temp_max and weather emitted once, live metrics emitted as model.metric", async () => {
    const store = (await getRuntime()).store;
    const run = await monitor.run({ minAccuracy: 0.99 });
    expect(run.state.name, run.error?.message).toBe("Completed");
    const result = run.result!;
    expect(result.drift.driftedFeatures).toEqual(["temp_max", "weather"]);
    expect(result.drift.psi.temp_max).toBeCloseTo(0.225, 2);
    expect(result.live.rows).toBe(365);

    const drift = (await store.listEvents({ event: ["model.drift"], related: run.id })).items;
    expect(drift).toHaveLength(1);
    expect(drift[0]!.resource.id).toBe("model:weather");
    expect(drift[0]!.payload).toMatchObject({ model: "weather", driftedFeatures: ["temp_max", "weather"] });
    const metrics = (await store.listEvents({ event: ["model.metric"], related: run.id })).items;
    expect(metrics.map((e) => e.payload).sort((a, b) => String(a.metric).localeCompare(String(b.metric)))).toEqual([
      { model: "weather", metric: "accuracy", value: result.live.accuracy, min: 0.99, max: null, alias: "production", version: 1 },
      { model: "weather", metric: "macroF1", value: result.live.macroF1, min: 0.3, max: null, alias: "production", version: 1 },
    ]);
    expect(metrics.find((e) => e.payload.metric === "accuracy")!.resource).toEqual({ id: "model:weather", name: "weather", labels: { kind: "model", metric: "accuracy" } });
    // Accuracy under its minimum of 0.99: breached, the event a rollback automation listens for.
    const breached = (await store.listEvents({ event: ["model.metric.breached"], related: run.id })).items;
    expect(breached.map((e) => e.payload.reason)).toEqual([expect.stringMatching(/^accuracy 0\.\d+ < min 0\.99$/)]);
    expect(result.live.breached).toHaveLength(1);
    const artifacts = Object.fromEntries((await store.listArtifacts({ flowRunId: run.id })).map((a) => [a.key, a]));
    expect((artifacts["weather-drift"]!.data as unknown[]).length).toBe(5);
    expect(artifacts["weather-temp-max"]!.data).toMatchObject({ mimeType: "image/svg+xml" });

    // The same year on both sides: nothing drifts, nothing is emitted.
    const steady = await monitor.run({ currentYears: [2012] });
    expect(steady.result!.drift.drifted).toBe(false);
    expect((await store.listEvents({ event: ["model.drift"], related: steady.id })).items).toHaveLength(0);
  });

  it("stops on a CSV that fails validation, naming each column and problem, before training", async () => {
    const lines = fs.readFileSync(datasetPath(), "utf8").trim().split("\n");
    const broken = [...lines];
    broken[3] = broken[3]!.replace(/^([^,]+,[^,]+,)[^,]+/, "$161.5"); // temp_max 61.5 °C
    broken[5] = broken[5]!.replace(/^([^,]+,)[^,]+/, "$1-2"); // negative precipitation
    broken[8] = broken[8]!.replace(/^([^,]+,[^,]+,[^,]+,)[^,]+/, "$1"); // temp_min missing
    const file = path.join(dir, "broken.csv");
    fs.writeFileSync(file, broken.join("\n"));
    const run = await train.run({ ...params, dataset: file });
    expect(run.state.name).toBe("Failed");
    const message = run.state.message ?? "";
    expect(message).toContain("broken.csv failed validation");
    expect(message).toMatch(/temp_max: value outside \[-30, 50\] °C on 1 row\(s\) \(line 4\)/);
    expect(message).toMatch(/precipitation: value outside \[0, 500\] mm on 1 row\(s\) \(line 6\)/);
    expect(message).toMatch(/temp_min: missing value on 1 row\(s\) \(line 9\)/);
    const store = (await getRuntime()).store;
    const taskRuns = await store.listTaskRuns(run.id);
    expect(taskRuns.some((t) => t.taskKey.startsWith("trainModel"))).toBe(false);
    // Not retried: a broken file stays broken.
    expect((await store.stateHistory(run.id)).map((h) => h.name)).not.toContain("AwaitingRetry");

    const renamed = path.join(dir, "renamed.csv");
    fs.writeFileSync(renamed, lines.join("\n").replace(/^date,precipitation,temp_max/, "date,precipitation,tmax"));
    const schema = await train.run({ ...params, dataset: renamed });
    expect(schema.state.name).toBe("Failed");
    expect(schema.state.message).toMatch(/- temp_max: missing column \(the schema is date, precipitation, temp_max, temp_min, wind, weather; found date, precipitation, tmax,/);
  });

  it("rejects invalid parameters before running any task", async () => {
    const run = await train.run({ testFraction: 2 } as never);
    expect(run.state.name).toBe("Failed");
    expect(run.state.message).toMatch(/testFraction/);
  });
});
