/**
 * A model version's lineage (issue 16's "done when"): registered in a training run, the version
 * is `model://NAME` version `vN` in the asset graph, made from the data its run read and wrote —
 * so from the production version the API returns the training run, the data set versions and
 * the raw source upstream. On SQLite and PostgreSQL through the store's asset views, and through
 * the API's lineage route in remote mode.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asset, flow, loadModel, materialize, promoteModel, registerModel, task } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { KyselyAssetViews } from "../../src/store/asset-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { RemoteStore } from "../../src/client/remote-store.ts";
import { ModelLineageSchema } from "../../src/schemas/model.ts";
import { LineageGraphSchema } from "../../src/schemas/asset.ts";
import { configureEngine, ENGINE_BACKENDS, type EngineDatabase } from "../support/engine.ts";

const raw = asset("file://data/weather.csv");
const clean = asset("dataset://weather/clean");

const readRaw = task(async function readRaw(text: string) {
  await materialize(raw, { value: text, rows: text.split("\n").length });
  return text.split("\n").map(Number);
});
const cleanRows = task(async function cleanRows(rows: number[]) {
  return rows.filter((x) => x >= 0);
}, { writes: [clean] });
const fit = task(async function fit(rows: number[], name: string) {
  const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
  return registerModel(name, { value: { mean }, metrics: { mse: 1 / rows.length } });
});

const trainFlow = flow(async function trainForLineage(p: { text: string; name: string }) {
  const rows = await cleanRows(await readRaw(p.text));
  const version = await fit(rows, p.name);
  await promoteModel(p.name, version.version, { gate: { metric: "mse", max: 1 } });
  return version.version;
});

const scores = asset("dataset://weather/scores");
/** Loads the production model in a task that writes nothing; the next task writes the scores from its output. */
const scoreWith = task(async function scoreWith(name: string) {
  const model = await loadModel<{ mean: number }>(name);
  return [model.value.mean, model.version];
});
const writeScores = task(async function writeScores(values: number[]) {
  await materialize(scores, { value: values, rows: values.length });
  return values.length;
});
const scoreFlow = flow(async function scoreForLineage(p: { name: string }) {
  return writeScores(await scoreWith(p.name));
});
/** Trains without registering: the model is registered afterwards, naming this run. */
const fitOnly = flow(async function fitOnly(p: { text: string }) {
  const rows = await cleanRows(await readRaw(p.text));
  return { mean: rows.reduce((a, b) => a + b, 0) / rows.length };
});

describe.each(ENGINE_BACKENDS)("model lineage on %s", (backend) => {
  let engine: EngineDatabase;
  beforeAll(async () => {
    engine = await configureEngine(backend);
  });
  afterAll(() => engine.close());

  it("from the production version: its training run, the data set versions and the raw source", async () => {
    const name = `lineage-${backend}`;
    const run = await trainFlow.run({ text: "1\n2\n-3\n4", name });
    expect(run.state.name, run.error?.message).toBe("Completed");
    expect(run.result).toBe(1);

    if (backend === "remote") {
      const api = (engine.store as RemoteStore).api;
      const lineage = await api.request("GET", `/api/models/${name}/versions/1/lineage`, undefined, ModelLineageSchema);
      expect(lineage).toMatchObject({ name, version: 1, asset: { key: `model://${name}`, version: "v1" }, trainingRun: { flowRunId: run.id, flowName: "trainForLineage", stateName: "Completed", deleted: false } });
      expect(lineage.datasets.map((v) => v.key).sort()).toEqual(["dataset://weather/clean", "file://data/weather.csv"]);
      expect(lineage.sources.map((v) => v.key)).toEqual(["file://data/weather.csv"]);
      await expect(api.request("GET", `/api/models/${name}/versions/9/lineage`)).rejects.toThrow(/version 9/);
      return;
    }
    const views = new KyselyAssetViews((await getRuntime()).store as KyselyStore);
    const graph = (await views.lineage(`model://${name}`, { direction: "upstream", depth: 10, version: "v1" }))!;
    const keys = graph.nodes.flatMap((n) => (n.version ? [n.version.key] : [])).sort();
    expect(keys).toEqual(["dataset://weather/clean", "file://data/weather.csv", `model://${name}`]);
    expect(graph.nodes.find((n) => n.version?.key === `model://${name}`)!.version).toMatchObject({ version: "v1", flowRunId: run.id });
    // And downstream: what was made from the raw data reaches the model.
    const down = (await views.lineage("file://data/weather.csv", { direction: "downstream", depth: 10 }))!;
    expect(down.nodes.some((n) => n.version?.key === `model://${name}`)).toBe(true);
  });

  it("scores made with a loaded model reach that model version, and a version registered after its run names the run with runId", async () => {
    const name = `scored-${backend}`;
    const trained = await fitOnly.run({ text: "5\n7\n-1" });
    expect(trained.state.name, trained.error?.message).toBe("Completed");
    await expect(registerModel(name, { value: trained.result, metrics: { mse: 1 }, runId: "not-an-id" })).rejects.toThrow(/registerModel options\.runId must be a flow run's id \(a UUID/);
    const unknown = "0190a000-0000-7000-8000-000000000000";
    await expect(registerModel(name, { value: trained.result, metrics: { mse: 1 }, runId: unknown })).rejects.toThrow(`flow run ${unknown} was not found; registerModel options.runId names the run that trained "${name}"`);
    const v = await registerModel(name, { value: trained.result, metrics: { mse: 1 }, runId: trained.id });
    expect(v).toMatchObject({ version: 1, flowRunId: trained.id });
    await promoteModel(name, 1, { gate: { metric: "mse", max: 1 } });

    const scored = await scoreFlow.run({ name });
    expect(scored.state.name, scored.error?.message).toBe("Completed");
    const graph =
      backend === "remote"
        ? await (engine.store as RemoteStore).api.request("GET", `/api/assets/${encodeURIComponent(scores.key)}/lineage?direction=upstream&depth=10`, undefined, LineageGraphSchema)
        : (await new KyselyAssetViews((await getRuntime()).store as KyselyStore).lineage(scores.key, { direction: "upstream", depth: 10 }))!;
    const upstream = graph.nodes.flatMap((n) => (n.version ? [`${n.version.key}@${n.version.version}`] : []));
    // The scores came from model v1 (loaded in the task upstream), and through it from the data the training run read.
    expect(upstream).toContain(`model://${name}@v1`);
    expect(upstream.map((k) => k.split("@")[0])).toEqual(expect.arrayContaining(["dataset://weather/clean", "file://data/weather.csv"]));
  });
});
