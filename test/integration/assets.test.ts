/**
 * Assets through the public API, on SQLite, PostgreSQL and the remote client (a real server in
 * this process): declared reads and writes, explicit materialisations, implicit reads through
 * plain `b(await a())`, a new version only when the content changed, pinned reads, lineage both
 * ways, a retried run reading what its first attempt read, a flow run's reads and writes, the `baton.asset.materialized` event, deleting a run
 * (versions and lineage stay), a store-level materialisation with explicit inputs (what the model
 * registry records), and bad keys and versions refused with messages naming them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asset, AssetVersionConflictError, AssetVersionNotFoundError, flow, getRunContext, materialize, task } from "../../src/index.ts";
import { compileMaterialization } from "../../src/core/assets.ts";
import { RemoteAssets } from "../../src/client/remote-assets.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { KyselyAssetViews, type AssetViews } from "../../src/store/asset-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { ENGINE_BACKENDS, configureEngine, type EngineDatabase } from "../support/engine.ts";

const RAW = asset("file://data/raw.csv");
const FEATURES = asset("dataset://features");
const MODEL = "model://weather";

describe.each(ENGINE_BACKENDS)("assets on %s", (backend) => {
  let engine: EngineDatabase;
  let views: AssetViews;
  beforeAll(async () => {
    engine = await configureEngine(backend);
    views = engine.store instanceof RemoteStore ? new RemoteAssets(engine.store.api) : new KyselyAssetViews(engine.store as KyselyStore);
  });
  afterAll(() => engine.close());

  const ingest = task(async function ingest(rows: number[]) {
    await materialize(RAW, { value: rows, rows: rows.length, schema: { temp: "number" } });
    return rows;
  });
  const features = task(async function buildFeatures(rows: number[]) {
    return rows.map((r) => r * 2);
  }, { reads: [RAW], writes: [FEATURES] });
  const train = task(async function trainModel(xs: number[]) {
    const weights = xs.reduce((a, b) => a + b, 0);
    // Reads nothing declared: its input is the features task run's result.
    await materialize(MODEL, { value: weights, metadata: { macroF1: 0.8 } });
    return weights;
  });
  const pipeline = flow(async function assetPipeline(p: { rows: number[] }) {
    const rows = await ingest(p.rows);
    const xs = await features(rows);
    await train(xs);
    return getRunContext()!.flowRun.id;
  });

  const materialized = async (key: string) => (await engine.store.listEvents({ event: ["baton.asset.materialized"], resource: `asset:${key}`, limit: 100 })).items;

  it("records versions with lineage across tasks; the same data again makes no new version", async () => {
    const first = await pipeline({ rows: [1, 2, 3] });
    const raw = (await views.getAsset(RAW.key, { limit: 10 }))!;
    expect(raw.total).toBe(1);
    expect(raw.versions[0]).toMatchObject({ rows: 3, schema: { temp: "number" }, flowRunId: first, runDeleted: false });
    expect(raw.versions[0]!.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(raw.versions[0]!.version).toBe(raw.versions[0]!.hash);
    const feat = (await views.getAsset(FEATURES.key, { limit: 10 }))!.versions[0]!;
    const model = (await views.getAsset(MODEL, { limit: 10 }))!.versions[0]!;
    expect(model.metadata).toEqual({ macroF1: 0.8 });

    // Upstream of the model: its training task run, the features version (an implicit read),
    // the task run that built it, and the raw version it declared it reads.
    const up = (await views.lineage(MODEL, { direction: "upstream", depth: 5 }))!;
    const versionKeys = up.nodes.flatMap((n) => (n.version ? [n.version.key] : []));
    expect(versionKeys.sort()).toEqual([RAW.key, FEATURES.key, MODEL].sort());
    const runNames = up.nodes.flatMap((n) => (n.run ? [n.run.name] : []));
    expect(runNames).toEqual(expect.arrayContaining([expect.stringMatching(/^trainModel/), expect.stringMatching(/^buildFeatures/), expect.stringMatching(/^ingest/)]));
    const trainRun = up.nodes.find((n) => n.run?.name?.startsWith("trainModel"))!.id;
    expect(up.edges).toContainEqual({ from: `version:${feat.id}`, to: trainRun, kind: "read" });
    expect(up.edges).toContainEqual({ from: trainRun, to: `version:${model.id}`, kind: "produced" });
    expect(up.edges).toContainEqual(expect.objectContaining({ from: `version:${raw.versions[0]!.id}`, kind: "read" }));

    // Downstream of the raw data: the features task run, its version, then the model.
    const down = (await views.lineage(RAW.key, { direction: "downstream", depth: 5 }))!;
    expect(down.nodes.flatMap((n) => (n.version ? [n.version.key] : [])).sort()).toEqual([RAW.key, FEATURES.key, MODEL].sort());

    // What the run read and wrote.
    const used = (await views.flowRunAssets(first))!;
    expect(used.written.map((u) => u.version.key).sort()).toEqual([RAW.key, FEATURES.key, MODEL].sort());
    expect(used.read.map((u) => u.version.key)).toEqual([RAW.key]);
    expect(await materialized(FEATURES.key)).toHaveLength(1);
    expect((await materialized(MODEL))[0]).toMatchObject({ payload: { version: model.version, hash: model.hash, rows: null }, related: expect.arrayContaining([{ role: "flow-run", id: first, name: null }]) });

    // The same data: every version confirmed, none new, no event.
    const second = await pipeline({ rows: [1, 2, 3] });
    for (const key of [RAW.key, FEATURES.key, MODEL]) expect((await views.getAsset(key, { limit: 10 }))!.total).toBe(1);
    expect(await materialized(FEATURES.key)).toHaveLength(1);
    expect((await views.flowRunAssets(second))!.written).toHaveLength(3);

    // New data: a new version of each, newest first, and one more event.
    await pipeline({ rows: [4, 5, 6, 7] });
    const raws = (await views.getAsset(RAW.key, { limit: 10 }))!;
    expect(raws.total).toBe(2);
    expect(raws.versions[0]!.rows).toBe(4);
    expect(await materialized(FEATURES.key)).toHaveLength(2);
    expect((await views.listAssets()).find((a) => a.key === FEATURES.key)).toMatchObject({ versions: 2, latest: { id: (await views.getAsset(FEATURES.key, { limit: 1 }))!.versions[0]!.id } });

    // Back to the first data: its version is the latest again, still two versions.
    await pipeline({ rows: [1, 2, 3] });
    const back = (await views.getAsset(RAW.key, { limit: 10 }))!;
    expect(back.total).toBe(2);
    expect(back.versions[0]!.id).toBe(raw.versions[0]!.id);
  });

  it("a pinned read uses that version and is recorded; a version that does not exist fails the run naming it", async () => {
    const versions = (await views.getAsset(RAW.key, { limit: 10 }))!.versions;
    const old = versions[versions.length - 1]!;
    const reader = task(async function readPinned() {
      return 1;
    }, { reads: [RAW.version(old.hash)] });
    const pinned = flow(async function pinnedRead() {
      await reader();
      return getRunContext()!.flowRun.id;
    });
    const id = await pinned();
    expect((await views.flowRunAssets(id))!.read.map((u) => u.version.id)).toEqual([old.id]);

    const missing = task(async function readMissing() {
      return 1;
    }, { reads: [FEATURES.version("sha256:nope")] });
    const broken = flow(async function missingRead() {
      await missing();
    });
    await expect(broken()).rejects.toThrow(/asset dataset:\/\/features has no version "sha256:nope"/);
  });

  it("a retried flow run's task reads the version its first attempt read, though a newer one exists", async () => {
    let attempts = 0;
    const reread = task(async function rereadRaw() {
      attempts++;
      // A newer version arrives while the first attempt works, then the attempt fails.
      if (attempts === 1) {
        await materialize(RAW, { value: ["newer data"], rows: 1 });
        throw new Error("diverged");
      }
      return attempts;
    }, { reads: [RAW] });
    const retried = flow(async function retriedRead() {
      await reread();
      return getRunContext()!.flowRun.id;
    }, { retries: 1 });
    const before = (await views.getAsset(RAW.key, { limit: 1 }))!.versions[0]!;
    const id = await retried();
    expect(attempts).toBe(2);
    const latest = (await views.getAsset(RAW.key, { limit: 1 }))!.versions[0]!;
    expect(latest.id).not.toBe(before.id);
    expect((await views.flowRunAssets(id))!.read.map((u) => u.version.id)).toEqual([before.id]);
  });

  it("a fan-out materialising the same new content at once makes one version", async () => {
    const same = task(async function writeSame(i: number) {
      await materialize("dataset://shared", { value: "same content" });
      return i;
    });
    const fan = flow(async function fanOutSame() {
      await Promise.all(same.map([1, 2, 3, 4, 5, 6]));
    });
    await fan();
    expect((await views.getAsset("dataset://shared", { limit: 10 }))!.total).toBe(1);
    expect(await materialized("dataset://shared")).toHaveLength(1);
  });

  it("deleting a flow run keeps the versions and their lineage; the run shows as deleted", async () => {
    const make = task(async function makeTemp() {
      await materialize("dataset://temp", { value: "temp data" });
    });
    const derive = task(async function deriveTemp() {
      return "derived";
    }, { reads: [asset("dataset://temp")], writes: [asset("dataset://derived")] });
    const temp = flow(async function tempFlow() {
      await make();
      await derive();
      return getRunContext()!.flowRun.id;
    });
    const id = await temp();
    expect(await engine.store.deleteFlowRun(id)).toBe(true);
    const derived = (await views.getAsset("dataset://derived", { limit: 1 }))!.versions[0]!;
    expect(derived).toMatchObject({ flowRunId: null, taskRunId: null, runDeleted: true });
    const up = (await views.lineage("dataset://derived", { direction: "upstream", depth: 3 }))!;
    expect(up.nodes.find((n) => n.kind === "run")!.run).toMatchObject({ deleted: true });
    expect(up.nodes.flatMap((n) => (n.version ? [n.version.key] : [])).sort()).toEqual(["dataset://derived", "dataset://temp"]);
    expect(await views.flowRunAssets(id)).toBeUndefined();
  });

  it("a store-level materialisation names its version and inputs (the model registry's way); a taken name with other content is refused", async () => {
    const feat = (await views.getAsset(FEATURES.key, { limit: 1 }))!.versions[0]!;
    const m = compileMaterialization("model://registry", { version: "v3", hash: "sha256:abc", metadata: { f1: 0.9 } });
    const outcome = await engine.store.materializeAsset({ ...m, flowRunId: null, taskRunId: null, inputs: [feat.id] });
    expect(outcome).toMatchObject({ created: true, version: { version: "v3", hash: "sha256:abc" } });
    const up = (await views.lineage("model://registry", { direction: "upstream", depth: 1, version: "v3" }))!;
    expect(up.edges).toContainEqual({ from: `version:${feat.id}`, to: `version:${outcome.version.id}`, kind: "derived" });
    expect((await engine.store.materializeAsset({ ...m, flowRunId: null, taskRunId: null, inputs: [] })).created).toBe(false);
    await expect(engine.store.materializeAsset({ ...m, hash: "sha256:other", flowRunId: null, taskRunId: null, inputs: [] })).rejects.toThrow(AssetVersionConflictError);
    await expect(engine.store.materializeAsset({ ...m, version: "v4", flowRunId: null, taskRunId: null, inputs: ["0193aaaa-0000-7000-8000-000000000000"] })).rejects.toThrow(AssetVersionNotFoundError);
  });

  it("bad keys are refused where they are given, naming the key and the problem", async () => {
    expect(() => asset("features")).toThrow('asset(key): asset key "features" is not a URI: it needs a scheme and ://');
    expect(() => task(async function t() {}, { reads: ["raw.csv" as never] })).toThrow('task option "reads" item 0: asset key "raw.csv" is not a URI');
    expect(() => task(async function t() {}, { writes: [FEATURES.version("v1")] })).toThrow(/task option "writes": dataset:\/\/features is pinned/);
    expect(() => task(async function t() {}, { writes: "x" as never })).toThrow('task option "writes" must be an array of assets');
    expect(() => asset("1x://y")).toThrow(/scheme "1x"/);
    expect(() => FEATURES.version("")).toThrow(/version must be a non-empty string/);
    expect(() => materialize("dataset://x")).toThrow("materialize(dataset://x) needs a running flow");
    const bad = flow(async function badMaterialize(p: { which: string }) {
      if (p.which === "key") await materialize("no-scheme", { rows: 1 });
      if (p.which === "rows") await materialize("dataset://x", { rows: -1 });
      if (p.which === "option") await materialize("dataset://x", { row: 1 } as never);
    });
    await expect(bad({ which: "key" })).rejects.toThrow('materialize(asset): asset key "no-scheme" is not a URI');
    await expect(bad({ which: "rows" })).rejects.toThrow("rows must be a whole number ≥ 0, got -1");
    await expect(bad({ which: "option" })).rejects.toThrow('"row" is not an option');
    expect((await views.listAssets()).map((a) => a.key)).not.toContain("dataset://x");
  });
});
