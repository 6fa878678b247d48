/**
 * Re-running an experiment on the same data: `flow.rerun(id)` (and `baton flow-run rerun`) make a
 * new run on the source's parameters whose task runs read the asset versions the source read,
 * though newer ones exist; `readVersion` tells a task which. On SQLite, PostgreSQL and through a
 * server. Then the API's rerun of a worker's run: a new Scheduled run of its deployment whose
 * reads are recorded before it exists, and the refusals (no pool, a child run, no such run).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asset, flow, materialize, readVersion, task } from "../../src/index.ts";
import { compileMaterialization } from "../../src/core/assets.ts";
import { newId } from "../../src/core/ids.ts";
import { assetViewsOf } from "../../src/sdk/assets.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, ENGINE_BACKENDS, type EngineDatabase } from "../support/engine.ts";
import { cli, ROOT } from "../support/processes.ts";

describe.each(ENGINE_BACKENDS)("flow.rerun on %s", (backend) => {
  let engine: EngineDatabase;
  beforeAll(async () => {
    engine = await configureEngine(backend);
  });
  afterAll(() => engine.close());

  const raw = asset(`dataset://rerun/raw-${backend}`);
  const useRaw = task(async function useRaw(factor: number) {
    const version = readVersion(raw);
    return { version: version?.version ?? null, rows: version?.rows ?? null, factor };
  }, { reads: [raw] });
  const pipeline = flow(async function rerunPipeline(params: { factor: number }) {
    return useRaw(params.factor);
  });
  const seed = flow(async function seedRaw(params: { rows: number[] }) {
    await materialize(raw, { value: params.rows, rows: params.rows.length });
  });

  it("runs again on the source's parameters and the versions it read, though a newer one exists", async () => {
    await seed.run({ rows: [1, 2] });
    const first = await pipeline.run({ factor: 3 });
    expect(first.state.name, first.error?.message).toBe("Completed");
    expect(first.result).toMatchObject({ rows: 2, factor: 3 });
    const v1 = first.result!.version!;

    await seed.run({ rows: [1, 2, 3] });
    const fresh = await pipeline.run({ factor: 3 });
    expect(fresh.result).toMatchObject({ rows: 3 });
    expect(fresh.result!.version).not.toBe(v1);

    const again = await pipeline.rerun(first.id);
    expect(again.state.name, again.error?.message).toBe("Completed");
    expect(again.id).not.toBe(first.id);
    expect(again.result).toEqual({ version: v1, rows: 2, factor: 3 });
    // Recorded: the re-run read v1 (as its own, and in its task run).
    const used = (await assetViewsOf(await getRuntime()).flowRunAssets(again.id))!;
    expect(used.read.map((u) => `${u.taskRunId === null ? "flow" : "task"} ${u.version.version}`).sort()).toEqual([`flow ${v1}`, `task ${v1}`]);
    // A re-run of the re-run reads v1 again; a new run the latest.
    expect((await pipeline.rerun(again.id)).result!.version).toBe(v1);
    expect((await pipeline.run({ factor: 3 })).result!.version).toBe(fresh.result!.version);
  });

  it("says what is wrong: no such run, a run of another flow, a child run, readVersion of an undeclared asset or outside a task", async () => {
    const unknown = newId();
    await expect(pipeline.rerun(unknown)).rejects.toThrow(`flow run ${unknown} was not found`);
    const seeded = await seed.run({ rows: [9] });
    await expect(pipeline.rerun(seeded.id)).rejects.toThrow(`flow run ${seeded.id} is a run of flow "seedRaw", not "rerunPipeline"; re-run it with that flow`);
    const parent = await flow(async function rerunParent() {
      return pipeline({ factor: 2 });
    }).run();
    expect(parent.state.name, parent.error?.message).toBe("Completed");
    const [child] = await (await getRuntime()).store.listFlowRuns({ parentFlowRunId: parent.id });
    expect(child?.flowName).toBe("rerunPipeline");
    await expect(pipeline.rerun(child!.id)).rejects.toThrow(`flow run ${child!.id} is a child of flow run ${parent.id}: re-run the parent (baton flow-run rerun ${parent.id})`);
    const undeclared = task(async function undeclared() {
      return readVersion("dataset://rerun/elsewhere");
    });
    const run = await flow(async function readsUndeclared() {
      return undeclared();
    }).run();
    expect(run.error?.message).toMatch(/readVersion\(dataset:\/\/rerun\/elsewhere\): task "undeclared" does not declare it; add it to the task's reads/);
    expect(() => readVersion(raw)).toThrow(/answers inside a task that declares the asset in its reads/);
    expect(() => readVersion("not a uri")).toThrow(/readVersion\(asset\): asset key "not a uri" is not a URI/);
  });
});

describe.each(DIALECTS)("the API's rerun of a worker's run on %s", (dialect) => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await apiHarness(dialect);
  });
  afterAll(() => api.close());

  const version = async (key: string, rows: number[]) => (await api.store.materializeAsset({ ...compileMaterialization(key, { value: rows, rows: rows.length }), flowRunId: null, taskRunId: null, inputs: [] })).version;

  it("makes a Scheduled run of the deployment on the source's parameters, its reads recorded before it exists", async () => {
    const orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertWorkPool({ name: "trainers" });
    const deployment = await orchestration.upsertDeployment({ name: "train", flowName: "train", entrypoint: "/srv/flows/train.ts:train", workPool: "trainers", tags: ["ml"] });
    const key = "dataset://api-rerun/features";
    const v1 = await version(key, [1, 2]);
    const source = (await api.call("POST", "/api/deployments/train/runs", { parameters: { depth: 4 } })).body;
    const taskRunId = newId();
    await api.store.recordAssetReads({ flowRunId: source.id, taskRunId, reads: [{ key, version: null }] });
    const v2 = await version(key, [1, 2, 3]);
    expect(v2.version).not.toBe(v1.version);

    const res = await api.call("POST", `/api/flow-runs/${source.id}/rerun`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { run, pinned } = res.body;
    expect(run).toMatchObject({ flowName: "train", deploymentId: deployment.id, workPool: "trainers", parameters: { depth: 4 }, tags: ["ml"], parentFlowRunId: null });
    expect(run.id).not.toBe(source.id);
    expect(run.state).toMatchObject({ name: "Scheduled", message: `re-run of flow run ${source.id} on the 1 asset version(s) it read` });
    expect(pinned).toEqual([{ key, version: v1.version }]);
    // The re-run's task runs read v1, not the latest v2.
    const [read] = await api.store.recordAssetReads({ flowRunId: run.id, taskRunId: newId(), reads: [{ key, version: null }] });
    expect(read!.version).toBe(v1.version);
    expect((await api.call("GET", `/api/flow-runs/${run.id}/assets`)).body.read.map((u: { version: { version: string } }) => u.version.version)).toEqual([v1.version, v1.version]);
  });

  it("refuses a run no worker can pick up, a child run and a run that does not exist, saying what to do", async () => {
    const local = (await api.call("POST", "/api/flow-runs", { flowName: "local" })).body;
    expectError(await api.call("POST", `/api/flow-runs/${local.id}/rerun`), 409, new RegExp(`flow run ${local.id} has no work pool, so no worker can pick it up: re-run it with \`baton flow-run rerun ${local.id}\``));
    const child = (await api.call("POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: local.id })).body;
    expectError(await api.call("POST", `/api/flow-runs/${child.id}/rerun`), 409, new RegExp(`flow run ${child.id} is a child of flow run ${local.id}: re-run the parent`));
    const unknown = newId();
    expectError(await api.call("POST", `/api/flow-runs/${unknown}/rerun`), 404, new RegExp(`flow run ${unknown} was not found`));
  });
});

describe("baton flow-run rerun", () => {
  let home: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-rerun-cli-"));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it("re-runs a local run here on the data version it read, and says so", async () => {
    const env = { BATON_HOME: home, BATON_LOG_LEVEL: "warn" };
    const flows = path.join(ROOT, "test/integration/fixtures/rerun-flows.ts");
    const seed = async (rows: string) => expect((await cli(["run", flows, "--flow", "seedRows", "--param", `rows=${rows}`, "--quiet"], env)).code).toBe(0);
    await seed("[1,2]");
    const first = await cli(["run", flows, "--flow", "countRows", "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    const source = JSON.parse(first.stdout) as { id: string; result: number };
    expect(source.result).toBe(2);
    await seed("[1,2,3,4]");
    const again = await cli(["flow-run", "rerun", source.id, "--json"], env);
    expect(again.code, again.stderr).toBe(0);
    const outcome = JSON.parse(again.stdout) as { id: string; result: number; state: { name: string } };
    expect(outcome).toMatchObject({ result: 2, state: { name: "Completed" } });
    expect(outcome.id).not.toBe(source.id);
    const text = await cli(["flow-run", "rerun", source.id], env);
    expect(text.stdout).toMatch(new RegExp(`^Flow run \\S+ \\(\\S+\\), a re-run of ${source.id}, ended Completed`, "m"));
    const missing = await cli(["flow-run", "rerun", "nope"], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope/);
  }, 120_000);
});
