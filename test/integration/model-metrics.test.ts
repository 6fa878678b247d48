/**
 * `reportModelMetric` on SQLite and PostgreSQL: every report is a `model.metric` event about the
 * model; one outside its bounds is also `model.metric.breached` with the reason, the event a
 * rollback automation listens for. Bad arguments name themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, reportModelMetric } from "../../src/index.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(DIALECTS)("reportModelMetric on %s", (dialect) => {
  let engine: EngineDatabase;
  let store: KyselyStore;
  beforeAll(async () => {
    engine = await configureEngine(dialect);
    store = engine.store as KyselyStore;
  });
  afterAll(() => engine.close());

  it("records every measurement, and a breach of its bounds as its own event with the reason", async () => {
    const model = `m-${dialect}-${Date.now()}`;
    const watch = flow(async function watchModel(p: { value: number }) {
      return reportModelMetric(model, "accuracy", p.value, { min: 0.6, version: 3 });
    });
    expect(await watch({ value: 0.8 })).toEqual({ model, metric: "accuracy", value: 0.8, breached: false, reason: null });
    expect(await watch({ value: 0.41 })).toEqual({ model, metric: "accuracy", value: 0.41, breached: true, reason: "accuracy 0.41 < min 0.6" });
    const measured = (await store.listEvents({ event: ["model.metric"], resource: `model:${model}`, order: "oldest" })).items;
    expect(measured.map((e) => e.payload.value)).toEqual([0.8, 0.41]);
    expect(measured[0]!.resource).toEqual({ id: `model:${model}`, name: model, labels: { kind: "model", metric: "accuracy" } });
    expect(measured[0]!.related.map((r) => r.role)).toContain("flow-run");
    const breached = (await store.listEvents({ event: ["model.metric.breached"], resource: `model:${model}` })).items;
    expect(breached).toHaveLength(1);
    expect(breached[0]!.payload).toMatchObject({ model, metric: "accuracy", value: 0.41, min: 0.6, version: 3, alias: "production", reason: "accuracy 0.41 < min 0.6" });
  });

  it("names the argument that is wrong", async () => {
    await expect(reportModelMetric("bad name", "accuracy", 1)).rejects.toThrow(/reportModelMetric\(model\): "bad name" is not a model name/);
    await expect(reportModelMetric("m", "accuracy", Number.NaN)).rejects.toThrow(/accuracy must be a finite number, got NaN/);
    await expect(reportModelMetric("m", "accuracy", 1, { max: Number.POSITIVE_INFINITY })).rejects.toThrow(/bounds.max must be a finite number/);
  });
});
