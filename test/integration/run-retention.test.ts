/**
 * Run retention on SQLite and PostgreSQL: final runs that ended before the cut-off go with
 * everything they own; runs not final, or final but recent, stay; a child flow run stays and
 * loses its parent link; a run with more task runs than one transaction carries is deleted in
 * chunks; the server's background job deletes (BATON_RUN_RETENTION_DAYS); `POST
 * /api/flow-runs/prune` is for admins, validated and audited; `baton flow-run prune` works on
 * the database and through the server and names a bad `--older-than`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { cli, until } from "../support/processes.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState, type StateName } from "../../src/core/states.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { WriteOp } from "../../src/store/types.ts";
import { KyselyRunRetention, TASK_RUNS_PER_TX } from "../../src/store/run-retention.ts";
import { olderThanCutoff } from "../../src/services/prune-flow-runs.ts";
import { loadSettings } from "../../src/config/settings.ts";

const DAY = 86_400_000;
const admin = { authorization: "Bearer rr-admin-key" };
const developer = { authorization: "Bearer rr-dev-key1" };

/**
 * A flow run with `tasks` task runs (each with its state history, a log line, a dependency on
 * the one before), a run log, an artifact and a pause input, that entered `final` at `endedAt`
 * (null: left Running). Made through the store's own writes, as runs make them.
 */
async function makeRun(store: KyselyStore, o: { endedAt: number | null; final?: StateName; tasks?: number; parent?: { flowRunId: string; taskRunId: string } }): Promise<{ id: string; taskRunIds: string[] }> {
  const id = newId();
  const startedAt = (o.endedAt ?? Date.now()) - 60_000;
  await store.createFlowRun({ id, flowName: "retained", name: `run-${id.slice(-6)}`, parentFlowRunId: o.parent?.flowRunId ?? null, parentTaskRunId: o.parent?.taskRunId ?? null, parameters: {}, tags: ["t"], version: null, state: makeState("Pending", { timestamp: startedAt - 1 }) });
  await store.setFlowRunState(id, makeState("Running", { timestamp: startedAt }));
  const taskRunIds: string[] = [];
  // Logs stamped now: log retention (30 days) would take older ones before run retention does.
  const logAt = Date.now();
  const ops: WriteOp[] = [];
  for (let i = 0; i < (o.tasks ?? 3); i++) {
    const op = taskRunOp(id, { state: makeState("Completed", { timestamp: startedAt + 1000 }) });
    taskRunIds.push(op.taskRun.id);
    ops.push(op, stateOp(op), { kind: "log" as const, log: { flowRunId: id, taskRunId: op.taskRun.id, level: 30, message: `task ${i}`, timestamp: logAt } });
    if (i > 0) ops.push({ kind: "dependency", dependency: { taskRunId: op.taskRun.id, upstreamTaskRunId: taskRunIds[i - 1]!, kind: "data" } });
  }
  ops.push({ kind: "log" as const, log: { flowRunId: id, taskRunId: null, level: 30, message: "run log", timestamp: logAt } });
  for (let at = 0; at < ops.length; at += 3000) await store.applyWrites(ops.slice(at, at + 3000));
  await store.createArtifact({ id: newId(), key: null, type: "markdown", data: "# report", description: null, flowRunId: id, taskRunId: null, createdAt: startedAt });
  await store.db.insertInto("flow_run_inputs").values({ flow_run_id: id, key: "approval", schema: null, description: null, timeout_at: null, default_value: null, input: "true", created_at: startedAt, supplied_at: startedAt, supplied_by: "test" }).execute();
  // Experiment tracking: the flow run's parameter and a task run's metric curve.
  await store.logRunValues([
    { flowRunId: id, taskRunId: null, experiment: "retained", params: { depth: "3" }, metrics: [] },
    { flowRunId: id, taskRunId: taskRunIds[0]!, experiment: "retained", params: {}, metrics: [0, 1].map((step) => ({ name: "loss", step, value: 1 / (step + 1), timestamp: startedAt })) },
  ]);
  // Assets: a version its first task run materialised, which its second read.
  const made = await store.materializeAsset({ key: `dataset://retained/${id}`, version: null, hash: `sha256:${id}`, rows: 1, schema: null, metadata: null, flowRunId: id, taskRunId: taskRunIds[0]!, inputs: [] });
  await store.recordAssetReads({ flowRunId: id, taskRunId: taskRunIds[1]!, reads: [{ key: made.version.key, version: null }] });
  if (o.endedAt !== null) await store.setFlowRunState(id, makeState(o.final ?? "Completed", { timestamp: o.endedAt }), { force: true });
  return { id, taskRunIds };
}

/** Rows any table still holds for flow run `id`. */
async function rowsOf(store: KyselyStore, id: string): Promise<Record<string, number>> {
  const count = async (table: "flow_runs" | "task_runs" | "states" | "logs" | "artifacts" | "task_dependencies" | "flow_run_inputs" | "experiment_runs" | "run_params" | "run_metrics" | "asset_run_links") =>
    Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).where(table === "flow_runs" ? "id" : "flow_run_id", "=", id).executeTakeFirstOrThrow()).n);
  return {
    flow_runs: await count("flow_runs"),
    task_runs: await count("task_runs"),
    states: await count("states"),
    logs: await count("logs"),
    artifacts: await count("artifacts"),
    task_dependencies: await count("task_dependencies"),
    flow_run_inputs: await count("flow_run_inputs"),
    experiment_runs: await count("experiment_runs"),
    run_params: await count("run_params"),
    run_metrics: await count("run_metrics"),
    asset_run_links: await count("asset_run_links"),
  };
}

const NOTHING = { flow_runs: 0, task_runs: 0, states: 0, logs: 0, artifacts: 0, task_dependencies: 0, flow_run_inputs: 0, experiment_runs: 0, run_params: 0, run_metrics: 0, asset_run_links: 0 };

describe("--older-than", () => {

  it("takes a duration greater than zero and names the option otherwise", () => {
    expect(olderThanCutoff("30d", 100 * DAY)).toBe(70 * DAY);
    expect(olderThanCutoff("12h", DAY)).toBe(DAY / 2);
    for (const bad of ["", "30", "thirty days", "-1d", "1h30m", "30 d"]) expect(() => olderThanCutoff(bad, Date.now())).toThrow(/--older-than must be a duration/);
    expect(() => olderThanCutoff("0d", Date.now())).toThrow(/--older-than must be greater than 0/);
  });

  it("BATON_RUN_RETENTION_DAYS keeps runs forever by default and names itself when invalid", () => {
    expect(loadSettings({ BATON_HOME: "/nonexistent-baton-home" }).runRetentionDays).toEqual({ value: null, source: "default" });
    expect(loadSettings({ BATON_HOME: "/nonexistent-baton-home", BATON_RUN_RETENTION_DAYS: "0.5" }).runRetentionDays.value).toBe(0.5);
    expect(() => loadSettings({ BATON_HOME: "/nonexistent-baton-home", BATON_RUN_RETENTION_DAYS: "0" })).toThrow(/BATON_RUN_RETENTION_DAYS must be a number greater than 0/);
  });
});

describe.each(DIALECTS)("run retention on %s", (dialect) => {
  let h: ApiHarness;
  let retention: KyselyRunRetention;

  beforeAll(async () => {
    h = await apiHarness(dialect, { apiKeys: ["admin:rr-admin-key", "developer:rr-dev-key1"] });
    retention = new KyselyRunRetention(h.store);
  });
  afterAll(() => h.close());

  it("deletes final runs that ended before the cut-off with all they own, and nothing else", async () => {
    const now = Date.now();
    const old = await Promise.all((["Completed", "Failed", "Cancelled", "Crashed"] as const).map((final) => makeRun(h.store, { endedAt: now - 40 * DAY, final })));
    const recent = await makeRun(h.store, { endedAt: now - 5 * DAY });
    const running = await makeRun(h.store, { endedAt: null });
    // Not final, though its history is old: a run waiting for a retry or a schedule.
    const scheduled = await makeRun(h.store, { endedAt: now - 40 * DAY, final: "Failed" });
    await h.store.setFlowRunState(scheduled.id, makeState("Scheduled", { timestamp: now - 40 * DAY + 1, scheduledAt: now + DAY }), { force: true });
    const paused = await makeRun(h.store, { endedAt: null });
    await h.store.setFlowRunState(paused.id, makeState("Paused", { timestamp: now - 40 * DAY }), { force: true });

    // What a finished run of three tasks owns: its 3 states and theirs, 4 log lines, 2 dependencies…
    const full = { flow_runs: 1, task_runs: 3, states: 6, logs: 4, artifacts: 1, task_dependencies: 2, flow_run_inputs: 1, experiment_runs: 2, run_params: 1, run_metrics: 2, asset_run_links: 2 };
    for (const run of [...old, recent]) expect(await rowsOf(h.store, run.id)).toEqual(full);
    const cutoff = now - 30 * DAY;
    expect(await retention.count(cutoff)).toEqual({ flowRuns: 4, taskRuns: 12 });
    expect(await retention.prune(cutoff)).toEqual({ flowRuns: 4, taskRuns: 12, more: false });
    for (const run of old) expect(await rowsOf(h.store, run.id)).toEqual(NOTHING);
    // Asset versions outlive their runs, which they no longer name.
    for (const run of old)
      expect(await h.store.db.selectFrom("asset_versions").select(["flow_run_id", "task_run_id", "run_deleted"]).where("asset_key", "=", `dataset://retained/${run.id}`).execute()).toEqual([{ flow_run_id: null, task_run_id: null, run_deleted: 1 }]);
    expect(await rowsOf(h.store, recent.id)).toEqual(full);
    for (const run of [running, scheduled, paused]) expect((await rowsOf(h.store, run.id)).task_runs).toBe(3);
    expect((await h.store.getFlowRun(scheduled.id))?.state.name).toBe("Scheduled");
    expect((await h.store.getFlowRun(paused.id))?.state.name).toBe("Paused");
    expect(await retention.prune(cutoff)).toEqual({ flowRuns: 0, taskRuns: 0, more: false });
  });

  it("keeps a child flow run whose parent it deletes, without the parent link", async () => {
    const now = Date.now();
    const parent = await makeRun(h.store, { endedAt: now - 40 * DAY });
    const child = await makeRun(h.store, { endedAt: now - 2 * DAY, parent: { flowRunId: parent.id, taskRunId: parent.taskRunIds[0]! } });
    // A child the API created with only its parent task named.
    const orphan = await makeRun(h.store, { endedAt: null });
    await h.store.db.updateTable("flow_runs").set({ parent_task_run_id: parent.taskRunIds[1]! }).where("id", "=", orphan.id).execute();

    await retention.prune(now - 30 * DAY);
    expect(await rowsOf(h.store, parent.id)).toEqual(NOTHING);
    for (const id of [child.id, orphan.id]) {
      const run = await h.store.getFlowRun(id);
      expect(run).toMatchObject({ parentFlowRunId: null, parentTaskRunId: null });
      expect((await rowsOf(h.store, id)).task_runs).toBe(3);
    }
  });

  it("deletes a run with more task runs than one transaction carries in chunks, and stops where asked", async () => {
    const now = Date.now();
    const big = await makeRun(h.store, { endedAt: now - 50 * DAY, tasks: TASK_RUNS_PER_TX + 500 });
    const small = await Promise.all([1, 2, 3].map((i) => makeRun(h.store, { endedAt: now - 45 * DAY + i, tasks: 2 })));
    const progress: number[] = [];
    // A new one: the first transaction carries the initial budget.
    const first = await new KyselyRunRetention(h.store).prune(now - 30 * DAY, { maxFlowRuns: 2, onProgress: (p) => progress.push(p.taskRuns) });
    expect(first).toEqual({ flowRuns: 2, taskRuns: TASK_RUNS_PER_TX + 500 + 2, more: true });
    // The big run's task runs went in chunks before the run itself.
    expect(progress[0]).toBe(TASK_RUNS_PER_TX);
    expect(await rowsOf(h.store, big.id)).toEqual(NOTHING);
    expect(await retention.prune(now - 30 * DAY)).toEqual({ flowRuns: 2, taskRuns: 4, more: false });
    for (const run of small) expect(await rowsOf(h.store, run.id)).toEqual(NOTHING);
  });

  it("POST /api/flow-runs/prune: admins only, validated, counted by a dry run, audited", async () => {
    const now = Date.now();
    const old = await makeRun(h.store, { endedAt: now - 40 * DAY });
    const body = { endedBefore: now - 30 * DAY };
    expectError(await h.call("POST", "/api/flow-runs/prune", body, developer), 403, /runs:prune/);
    expectError(await h.call("POST", "/api/flow-runs/prune", { endedBefore: "yesterday" }, admin), 400, /body\/endedBefore|body\.endedBefore/);
    expectError(await h.call("POST", "/api/flow-runs/prune", { endedBefore: now + DAY }, admin), 400, /body\.endedBefore .* in the future/);
    expectError(await h.call("POST", "/api/flow-runs/prune", { ...body, limit: 0 }, admin), 400, /limit/);
    expectError(await h.call("POST", "/api/flow-runs/prune", { ...body, olderThan: "30d" }, admin), 400, /olderThan/);

    let res = await h.call("POST", "/api/flow-runs/prune", { ...body, dryRun: true }, admin);
    expect(res.body).toEqual({ endedBefore: body.endedBefore, dryRun: true, flowRuns: 1, taskRuns: 3, more: false });
    expect((await rowsOf(h.store, old.id)).flow_runs).toBe(1);
    res = await h.call("POST", "/api/flow-runs/prune", body, admin);
    expect(res.body).toEqual({ endedBefore: body.endedBefore, dryRun: false, flowRuns: 1, taskRuns: 3, more: false });
    expect(await rowsOf(h.store, old.id)).toEqual(NOTHING);

    const entries = await until(async () => {
      const audit = (await h.call("GET", "/api/audit?limit=50", undefined, admin)).body.items as { action: string; status: number }[];
      const prunes = audit.filter((e) => e.action === "POST /api/flow-runs/prune");
      return prunes.length >= 7 && prunes;
    }, "the prune calls in the audit log");
    expect(new Set(entries.map((e) => e.status))).toEqual(new Set([200, 400, 403]));
    const spec = (await h.call("GET", "/api/openapi.json")).body;
    expect(spec.paths["/api/flow-runs/prune"].post).toMatchObject({ operationId: "pruneFlowRuns", requestBody: expect.anything() });
  });

  it("the background job deletes runs past BATON_RUN_RETENTION_DAYS", async () => {
    const server = await apiHarness(dialect, { runRetentionMs: 30 * DAY, runRetentionCheckMs: 50 });
    try {
      const now = Date.now();
      const old = await makeRun(server.store, { endedAt: now - 31 * DAY });
      const kept = await makeRun(server.store, { endedAt: now - 29 * DAY });
      await until(async () => (await server.store.getFlowRun(old.id)) === undefined, "the background job to delete the old run", 10_000);
      expect(await rowsOf(server.store, old.id)).toEqual(NOTHING);
      expect((await rowsOf(server.store, kept.id)).task_runs).toBe(3);
    } finally {
      await server.close();
    }
  });

  it("baton flow-run prune: on the database and through the server, and a bad --older-than is named", async () => {
    const now = Date.now();
    const direct = await makeRun(h.store, { endedAt: now - 40 * DAY });
    const env = { BATON_DATABASE_URL: h.url, BATON_HOME: "/nonexistent-baton-home" };
    let out = await cli(["flow-run", "prune", "--older-than", "30d", "--dry-run"], env);
    expect(out.stdout, out.stderr).toMatch(/Would delete 1 flow run\(s\) and 3 task run\(s\) that ended before/);
    out = await cli(["flow-run", "prune", "--older-than", "30d", "--json"], env);
    expect(JSON.parse(out.stdout)).toMatchObject({ dryRun: false, flowRuns: 1, taskRuns: 3 });
    expect(await rowsOf(h.store, direct.id)).toEqual(NOTHING);
    for (const bad of ["thirty", "0d"]) {
      out = await cli(["flow-run", "prune", "--older-than", bad], env);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/--older-than must be/);
    }

    const remote = await makeRun(h.store, { endedAt: now - 40 * DAY });
    const address = await h.server.app.listen({ port: 0, host: "127.0.0.1" });
    const remoteEnv = { BATON_API_URL: `${address}/api`, BATON_HOME: "/nonexistent-baton-home" };
    out = await cli(["flow-run", "prune", "--older-than", "30d"], { ...remoteEnv, BATON_API_KEY: "rr-dev-key1" });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/runs:prune/);
    out = await cli(["flow-run", "prune", "--older-than", "30d"], { ...remoteEnv, BATON_API_KEY: "rr-admin-key" });
    expect(out.stdout, out.stderr).toMatch(/Deleted 1 flow run\(s\) and 3 task run\(s\)/);
    expect(await rowsOf(h.store, remote.id)).toEqual(NOTHING);
  }, 240_000);
});
