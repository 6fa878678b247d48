/**
 * The model registry through the public API, on SQLite, PostgreSQL and the remote client (a real
 * server in this process): versions numbered N+1 (concurrent registrations too) with their
 * lineage, values and files loaded back, gated promotion (declared thresholds, a function, a
 * person's approval), refusals recorded, rollback walking the alias history back, and every move
 * an event (and, on the database, an audit entry).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, loadModel, promoteModel, registerModel, rollbackModel, task } from "../../src/index.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { KyselyAuditLog } from "../../src/store/audit-log.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { RunStore } from "../../src/store/types.ts";
import { resumePausedFlowRun } from "../../src/services/resume-flow-run.ts";
import { ENGINE_BACKENDS, configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(ENGINE_BACKENDS)("model registry on %s", (backend) => {
  let engine: EngineDatabase;
  const unique = (base: string) => `${base}-${backend}-${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    engine = await configureEngine(backend);
  });
  afterAll(() => engine.close());

  const fit = task(async function fitModel(cfg: { name: string; f1: number }) {
    const v = await registerModel(cfg.name, { value: { weights: new Float64Array([cfg.f1, 1]), kind: "linear" }, metrics: { macroF1: cfg.f1 }, params: { depth: 3 }, signature: { input: ["x"] } });
    return v.version;
  });
  const train = flow(async function trainModel(p: { name: string; f1: number }) {
    const version = await fit(p);
    return promoteModel(p.name, version, { gate: { metric: "macroF1", min: 0.5, betterThanCurrent: true } });
  }, { experiment: "weather" });

  it("registers N+1 inside a run with its lineage, promotes through a declared gate, refuses with a reason, and loads the alias's value", async () => {
    const name = unique("clf");
    const first = await train.run({ name, f1: 0.7 });
    expect(first.result).toEqual({ promoted: true, from: null, to: 1 });
    const worse = await train.run({ name, f1: 0.65 });
    expect(worse.result).toEqual({ promoted: false, reason: "macroF1 0.65 is not better than version 1's 0.7 (higher is better)" });
    const low = await train.run({ name, f1: 0.4 });
    expect(low.result).toMatchObject({ promoted: false, reason: "macroF1 0.4 is below the minimum 0.5" });

    const loaded = await loadModel<{ weights: Float64Array; kind: string }>(name);
    expect(loaded).toMatchObject({ name, version: 1, metrics: { macroF1: 0.7 }, params: { depth: 3 } });
    expect([...loaded.value.weights]).toEqual([0.7, 1]);
    expect((await loadModel(name, { version: 3 })).metrics).toEqual({ macroF1: 0.4 });

    const v1 = (await import("../../src/sdk/models.ts")).modelStoreOf;
    const models = v1(await (await import("../../src/sdk/runtime.ts")).getRuntime());
    const detail = (await models.getModel(name))!;
    expect(detail).toMatchObject({ latestVersion: 3, aliases: { production: 1 } });
    expect(detail.versions.map((v) => v.version)).toEqual([3, 2, 1]);
    const version1 = detail.versions.at(-1)!;
    expect(version1).toMatchObject({ flowRunId: first.id, experiment: "weather", aliases: ["production"], signature: { input: ["x"] }, source: "value" });
    expect(version1.taskRunId).toEqual(expect.any(String));
    expect(version1.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(detail.moves.map((m) => [m.kind, m.from, m.to])).toEqual([
      ["refused", 1, 3],
      ["refused", 1, 2],
      ["promoted", null, 1],
    ]);
    expect(detail.moves[0]!.actor).toMatchObject(backend === "remote" ? { kind: expect.any(String) } : { kind: "flow-run", id: low.id });

    const events = await engine.store.listEvents({ resource: `model:${name}`, order: "oldest", limit: 20 });
    expect(events.items.map((e) => e.event)).toEqual([
      "baton.model.registered",
      "baton.model.promoted",
      "baton.model.registered",
      "baton.model.promotion-refused",
      "baton.model.registered",
      "baton.model.promotion-refused",
    ]);
    const refused = events.items[3]!;
    expect(refused.payload).toMatchObject({ alias: "production", version: 2, from: 1, to: 2, reason: expect.stringContaining("not better"), metrics: { macroF1: 0.65 } });
    expect(refused.related).toContainEqual(expect.objectContaining({ role: "flow-run", id: worse.id }));

    if (!(engine.store instanceof RemoteStore)) {
      const audit = await new KyselyAuditLog(engine.store as KyselyStore).list({ target: `model:${name}` });
      expect(audit.items.map((a) => a.action).sort()).toEqual(["model.promoted", "model.refused", "model.refused", "model.registered", "model.registered", "model.registered"]);
      expect(audit.items.find((a) => a.action === "model.refused")).toMatchObject({ outcome: "refused", detail: expect.objectContaining({ alias: "production" }) });
    }
  });

  it("concurrent registrations get distinct consecutive versions", async () => {
    const name = unique("race");
    const versions = await Promise.all(Array.from({ length: 8 }, (_, i) => registerModel(name, { value: i, metrics: { m: i } })));
    expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const v of versions) expect((await loadModel(name, { version: v.version })).value).toBe(v.metrics.m);
  });

  it("a file's bytes come back as a Buffer; a function gate sees both versions; rollback walks back, then says there is nothing left", async () => {
    const name = unique("file");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-model-"));
    const file = path.join(dir, "model.onnx");
    fs.writeFileSync(file, Buffer.from([0, 1, 2, 250, 255]));
    const v1 = await registerModel(name, { path: file, metrics: { loss: 0.5 } });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(v1).toMatchObject({ version: 1, source: "path", sourcePath: file });
    const loaded = await loadModel(name, { version: 1 });
    expect(Buffer.isBuffer(loaded.value)).toBe(true);
    expect([...(loaded.value as Buffer)]).toEqual([0, 1, 2, 250, 255]);

    await registerModel(name, { value: "v2", metrics: { loss: 0.4 } });
    await registerModel(name, { value: "v3", metrics: { loss: 0.3 } });
    const seen: unknown[] = [];
    const lowerLoss = (candidate: { version: number; metrics: Record<string, number> }, current: { version: number; metrics: Record<string, number> } | null) => {
      seen.push([candidate.version, current?.version ?? null]);
      return current === null || candidate.metrics.loss! < current.metrics.loss! ? true : { ok: false, reason: "loss did not improve" };
    };
    expect(await promoteModel(name, 1, { gate: lowerLoss })).toEqual({ promoted: true, from: null, to: 1 });
    expect(await promoteModel(name, 2, { gate: lowerLoss })).toEqual({ promoted: true, from: 1, to: 2 });
    expect(await promoteModel(name, 3, { gate: lowerLoss })).toEqual({ promoted: true, from: 2, to: 3 });
    expect(await promoteModel(name, 1, { gate: lowerLoss })).toEqual({ promoted: false, reason: "loss did not improve" });
    expect(seen).toEqual([[1, null], [2, 1], [3, 2], [1, 3]]);
    expect(await promoteModel(name, 2, { to: "staging" })).toEqual({ promoted: true, from: null, to: 2 });

    expect(await rollbackModel(name)).toEqual({ from: 3, to: 2 });
    expect((await loadModel(name)).version).toBe(2);
    expect(await rollbackModel(name)).toEqual({ from: 2, to: 1 });
    await expect(rollbackModel(name)).rejects.toThrow(/nothing to roll back to: .*pointed to no version before its first promotion/);
    expect((await loadModel(name, { alias: "staging" })).value).toBe("v2");
    await expect(rollbackModel(name, { alias: "staging" })).rejects.toThrow(/nothing to roll back to/);
    const events = await engine.store.listEvents({ resource: `model:${name}`, event: ["baton.model.rolled-back"], limit: 10 });
    expect(events.items.map((e) => [e.payload.from, e.payload.to])).toEqual([[2, 1], [3, 2]]);
  });

  it("clear errors: a version that does not exist, a gate's metric the candidate lacks, an alias that points nowhere, bad arguments", async () => {
    const name = unique("err");
    await registerModel(name, { value: 1, metrics: { accuracy: 0.9 } });
    await expect(promoteModel(name, 5)).rejects.toThrow(`model "${name}" has no version 5 (its versions are 1 to 1)`);
    await expect(promoteModel("never-registered", 1)).rejects.toThrow(/has no version 1 \(the model does not exist\)/);
    await expect(promoteModel(name, 1, { gate: { metric: "macroF1", min: 0.5 } })).rejects.toThrow(`model "${name}" version 1 has no metric "macroF1"`);
    await expect(loadModel(name)).rejects.toThrow(`model "${name}" has no alias "production"`);
    await expect(rollbackModel("never-registered")).rejects.toThrow(/model "never-registered" does not exist/);
    await expect(registerModel(name, { metrics: {} } as never)).rejects.toThrow(/exactly one of options.value and options.path/);
    await expect(registerModel(name, { value: 1, metrics: { m: Number.NaN } })).rejects.toThrow(/options.metrics.m must be a finite number/);
    await expect(registerModel("bad name!", { value: 1, metrics: {} })).rejects.toThrow(/registerModel\(name\) must be a model name/);
    await expect(promoteModel(name, 1, { gate: { metric: "accuracy" } })).rejects.toThrow(/checks nothing/);
    await expect(promoteModel(name, 1, { approval: true })).rejects.toThrow(/call it from a flow function/);
    await expect(registerModel(name, { value: () => 1, metrics: {} })).rejects.toThrow(/cannot be stored/);
    if (backend === "remote")
      await expect(registerModel(name, { value: Buffer.alloc(7 * 1024 * 1024), metrics: {} })).rejects.toThrow(/too large to travel through the API .* register it on the database/);
  });

  it("approval: true pauses the flow run with both versions' metrics; the person's refusal is recorded with the comment", async () => {
    const name = unique("approve");
    await registerModel(name, { value: "a", metrics: { macroF1: 0.6 } });
    await promoteModel(name, 1);
    await registerModel(name, { value: "b", metrics: { macroF1: 0.8 } });
    const gated = flow(async function approvalGate(p: { name: string }) {
      return promoteModel(p.name, 2, { gate: { metric: "macroF1", betterThanCurrent: true }, approval: true });
    });
    const runs = engine.store as unknown as RunStore;
    for (const [answer, expected] of [
      [{ approve: false, comment: "wait for Monday" }, { promoted: false, reason: "refused by a person: wait for Monday" }],
      [{ approve: true }, { promoted: true, from: 1, to: 2 }],
    ] as const) {
      const outcome = gated.run({ name });
      let id = "";
      await expect
        .poll(async () => {
          const paused = (await runs.listFlowRuns({ flowName: "approvalGate" })).find((r) => r.state.type === "PAUSED");
          id = paused?.id ?? "";
          return id;
        }, { timeout: 10_000 })
        .not.toBe("");
      const [request] = await runs.listFlowRunInputs(id);
      expect(request!.description).toContain("| macroF1 | 0.8 | 0.6 |");
      expect(request!.key).toBe(`promote-${name}-v2-production`);
      await resumePausedFlowRun(runs, id, answer, { by: "test" });
      expect((await outcome).result).toEqual(expected);
    }
  });
});
