/**
 * The model server on its own (src/serving/model-server.ts): predictions, bad input, metrics, and
 * the switch to a new version under steady load with no failed request. The source here is a
 * map the test moves; test/e2e/model-serve.test.ts serves the registry's alias from the CLI.
 */
import { afterEach, describe, expect, it } from "vitest";
import { predictorFrom, startModelServer, type ModelServer, type ModelSource } from "../../src/serving/model-server.ts";

/** Versions whose value is a multiplier; loading takes `loadMs` (a model being read and parsed). */
function source(loadMs = 0) {
  const versions = new Map<number, number>([[1, 2], [2, 3]]);
  const state = { alias: 1, loads: 0 };
  const src: ModelSource = {
    current: async () => state.alias,
    load: async (version) => {
      state.loads++;
      await new Promise((r) => setTimeout(r, loadMs));
      if (!versions.has(version)) throw new Error(`no version ${version}`);
      return { name: "doubler", version, value: { factor: versions.get(version) } };
    },
  };
  return { src, state, versions };
}

const predictor = predictorFrom({ load: (v: { factor: number }) => v.factor, predict: (factor: number, inputs: number[]) => inputs.map((x) => x * factor) }, "test predictor");

const post = async (url: string, body: unknown) => {
  const res = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

describe("model server", () => {
  let server: ModelServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("predicts with the alias's version, refuses bad input by name, and counts requests", async () => {
    const { src } = source();
    server = await startModelServer({ name: "doubler", alias: "production", source: src, predictor, pollMs: 60_000 });
    expect(await post(server.url, { inputs: [1, 2.5] })).toEqual({ status: 200, body: { predictions: [2, 5], model: { name: "doubler", alias: "production", version: 1 } } });
    const bad = await post(server.url, { rows: [1] });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "INVALID_INPUT", field: "body.inputs" });
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({ status: "ok", model: "doubler", alias: "production", version: 1 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/baton_model_requests_total\{outcome="ok",version="1"\} 1/);
    expect(metrics).toMatch(/baton_model_requests_total\{outcome="invalid",version="1"\} 1/);
    expect(metrics).toMatch(/baton_model_request_duration_seconds_count\{version="1"\} 1/);
  });

  it("answers 422 naming the problem when predict returns the wrong number of predictions", async () => {
    const { src } = source();
    server = await startModelServer({ name: "doubler", alias: "production", source: src, predictor: { predict: () => [1] }, pollMs: 60_000 });
    const res = await post(server.url, { inputs: [1, 2] });
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/returned 1 predictions for 2 inputs/);
  });

  it("refuses a module without predict, naming what it must export", () => {
    expect(() => predictorFrom({ default: { load: () => 1 } }, "my-model.ts")).toThrow(/my-model.ts must export a function predict\(model, inputs\)/);
  });

  it("switches to the new version under steady load with no failed request, and keeps the old one when a load fails", async () => {
    const { src, state } = source(150);
    const reloads: { from: number | null; to: number; error?: unknown }[] = [];
    server = await startModelServer({ name: "doubler", alias: "production", source: src, predictor, pollMs: 50, onReload: (e) => reloads.push(e) });
    const answers: { status: number; version: number; prediction: number }[] = [];
    const stop = Date.now() + 2000;
    const inflight: Promise<void>[] = [];
    // About 200 requests a second, each on its own (not waiting for the previous).
    while (Date.now() < stop) {
      inflight.push(post(server.url, { inputs: [10] }).then((r) => void answers.push({ status: r.status, version: r.body.model?.version, prediction: r.body.predictions?.[0] })));
      if (Date.now() > stop - 1200 && state.alias === 1) state.alias = 2; // the alias moves mid-way
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inflight);
    expect(answers.length).toBeGreaterThan(150);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // Every answer is consistent with the version it names, and the switch happened once.
    expect(answers.every((a) => a.prediction === (a.version === 1 ? 20 : 30))).toBe(true);
    expect(answers.at(-1)!.version).toBe(2);
    expect(reloads).toEqual([{ from: 1, to: 2 }]);

    state.alias = 3; // a version whose load fails: the server stays on 2
    await server.refresh();
    expect(server.version()).toBe(2);
    expect(reloads.at(-1)).toMatchObject({ from: 2, to: 3 });
    expect((await post(server.url, { inputs: [1] })).body.model.version).toBe(2);
  });
});
