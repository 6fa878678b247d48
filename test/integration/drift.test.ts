/**
 * `detectDrift` through the public API on SQLite and PostgreSQL: on the real shifted weather
 * data it reports the drifted features and emits one `model.drift` event with the scores,
 * related to the run; nothing is emitted when nothing drifts; bad options name the field.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDrift, flow, task } from "../../src/index.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";

const csv = path.join(path.dirname(createRequire(import.meta.url).resolve("vega-datasets")), "../data/seattle-weather.csv");
const [header, ...lines] = fs.readFileSync(csv, "utf8").trim().split("\n");
const columns = header!.split(",");
const weather = lines.map((line) => {
  const cells = line.split(",");
  return Object.fromEntries(columns.map((c, i) => [c, c === "date" || c === "weather" ? cells[i] : Number(cells[i])]));
});
const reference = weather.filter((r) => String(r.date).startsWith("2012"));
const current = weather.filter((r) => String(r.date).startsWith("2015"));

describe.each(DIALECTS)("detectDrift on %s", (dialect) => {
  let engine: EngineDatabase;
  let store: KyselyStore;
  beforeAll(async () => {
    engine = await configureEngine(dialect);
    store = engine.store as KyselyStore;
  });
  afterAll(() => engine.close());

  it("reports Seattle 2015's shifted maxima and weather labels, and emits model.drift related to the task run", async () => {
    const check = task(async function checkWeatherDrift() {
      return detectDrift(reference, current, { features: ["temp_max", "wind", "weather"], model: "weather" });
    });
    const monitor = flow(async function monitorWeather() {
      return check();
    });
    const report = await monitor();
    expect(report.driftedFeatures).toEqual(["temp_max", "weather"]);
    const byName = Object.fromEntries(report.features.map((f) => [f.feature, f]));
    expect(byName.temp_max).toMatchObject({ kind: "numeric", drifted: true, reasons: ["psi 0.225 ≥ 0.2", expect.stringMatching(/^ks p 0.000\d+ < 0.01$/)] });
    expect(byName.wind).toMatchObject({ kind: "numeric", drifted: false, reasons: [] });
    expect(byName.weather).toMatchObject({ kind: "categorical", drifted: true });

    const events = (await store.listEvents({ event: ["model.drift"], resource: "model:weather", order: "oldest" })).items;
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({ model: "weather", driftedFeatures: ["temp_max", "weather"], referenceSize: 366, currentSize: 365 });
    expect((events[0]!.payload as { maxPsi: number }).maxPsi).toBeCloseTo(0.225, 3);
    expect(events[0]!.related.map((r) => r.role)).toEqual(expect.arrayContaining(["task-run", "flow-run", "flow"]));
  });

  it("emits nothing when nothing drifts, and needs a model name to emit outside a run", async () => {
    const before = (await store.listEvents({ event: ["model.drift"] })).items.length;
    const calm = await detectDrift(reference, reference, { features: ["temp_max", "weather"] });
    expect(calm.drifted).toBe(false);
    expect((await store.listEvents({ event: ["model.drift"] })).items).toHaveLength(before);
    await expect(detectDrift(reference, current, { features: ["temp_max"] })).rejects.toThrow("pass options.model");
    const scoresOnly = await detectDrift(reference, current, { features: ["temp_max"], emit: false });
    expect(scoresOnly.drifted).toBe(true);
    await detectDrift(reference, current, { features: { temp_max: "numeric" }, model: "outside" });
    expect((await store.listEvents({ event: ["model.drift"], resource: "model:outside" })).items).toHaveLength(1);
  });

  it("bad input names the field", async () => {
    await expect(detectDrift([], current, { features: ["temp_max"] })).rejects.toThrow("reference must be a non-empty array of records");
    await expect(detectDrift(reference, current, { features: [] })).rejects.toThrow("options.features must name at least one feature");
    await expect(detectDrift(reference, current, { features: ["tempmax"] })).rejects.toThrow('no record of reference has the feature "tempmax"');
    await expect(detectDrift(reference, current, { features: { weather: "numeric" } })).rejects.toThrow('feature "weather" is numeric but reference has "drizzle"');
    await expect(detectDrift(reference, current, { features: { wind: "ordinal" as "numeric" } })).rejects.toThrow('options.features.wind must be "numeric" or "categorical"');
    await expect(detectDrift(reference, current, { features: ["wind"], thresholds: { psi: -1 } })).rejects.toThrow("options.thresholds.psi must be a number ≥ 0");
  });
});
