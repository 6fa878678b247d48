/**
 * Workers end to end, on SQLite and PostgreSQL, with real `baton worker start` processes: two
 * workers sharing a pool run 200 runs each exactly once; a worker SIGKILLed mid-run or between
 * claim and start (Crashed, then a durable retry); cancellation from the CLI, before a run
 * starts, and of a run that ignores SIGTERM; job variables, and a run refused the NODE_OPTIONS
 * its pool does not allow.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { cancelFlowRun } from "../../src/services/cancel-flow-run.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { e2eDialects } from "../support/databases.ts";
import { cli, until } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase, FLOWS, startWorkerProcess, withOutputOf } from "./worker-harness.ts";

describe.each(e2eDialects("postgres"))("workers on %s", (dialect) => {
  let db: WorkerDatabase;
  let url: string;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let dir: string;
  const deploy: WorkerDatabase["deploy"] = (...args) => db.deploy(...args);
  const createRun: WorkerDatabase["createRun"] = (...args) => db.createRun(...args);
  const expectEachRunOnce: WorkerDatabase["expectEachRunOnce"] = (...args) => db.expectEachRunOnce(...args);

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    ({ url, store, orchestration, dir } = db);
  });
  afterAll(() => db.close());

  it("two worker processes share a pool on the database: 200 runs, each run exactly once, the queue's limit honoured", async () => {
    await orchestration.upsertWorkPool({ name: "shared" });
    await orchestration.upsertWorkQueue({ poolName: "shared", name: "default", priority: 1, concurrencyLimit: 6 });
    const d = await deploy("shared-quick", "quick", { workPool: "shared" });
    for (let i = 0; i < 200; i++) await createRun(d, { n: i });
    const log = path.join(dir, `shared-${dialect}.log`);
    // Real `baton worker start` processes and real claims; the runs execute inside the workers
    // (BATON_TEST_INLINE_RUNS) so that 200 of them take seconds, not one process each.
    const env = { E2E_LOG: log, BATON_TEST_INLINE_RUNS: "1" };
    const workers = [startWorkerProcess(url, "shared", env, ["--limit", "5"]), startWorkerProcess(url, "shared", env, ["--limit", "5"])];
    const completed = async () => (await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"], limit: 500 })).length;
    await until(async () => (await completed()) === 200, "200 completed runs", 150_000);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exit));
    await expectEachRunOnce(d, log, 6);
  }, 180_000); // seconds on a quiet machine; generous for a loaded one

  it("a worker SIGKILLed mid-run: its run is found Crashed by another worker and resumed durably", async () => {
    await orchestration.upsertWorkPool({ name: "main" });
    const log = path.join(dir, `staged-${dialect}.log`);
    const d = await deploy("staged", "staged", { retries: 1 });
    const run = await createRun(d, { stages: 6, ms: 250 });
    const first = startWorkerProcess(url, "main", { E2E_LOG: log });
    await until(async () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("stage1") && true, "two stages");
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exit;
    const before = fs.readFileSync(log, "utf8").trim().split("\n");
    // Without its worker the run's process stops (lifeline) and its heartbeats stop; the second
    // worker finds it Crashed (3 missed 200 ms beats) and, the deployment having a retry, runs it.
    const second = startWorkerProcess(url, "main", { E2E_LOG: log });
    // Timed from when the second worker is up: its process start is no part of the detection.
    await until(async () => (await orchestration.listWorkers("main")).length >= 2, "the second worker to register", 30_000);
    const watchedFrom = Math.max(killedAt, Date.now());
    await until(async () => (await store.stateHistory(run.id)).some((s) => s.name === "Crashed"), "the run to be found Crashed", 15_000);
    const crashedAt = (await store.stateHistory(run.id)).find((s) => s.name === "Crashed")!.timestamp;
    expect(crashedAt - watchedFrom).toBeLessThan(8_000);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Completed", "the retried run to complete");
    second.child.kill("SIGTERM");
    await second.exit;
    const after = fs.readFileSync(log, "utf8").trim().split("\n");
    // Finished stages are not run again: each stage appears once, except one that was cut off.
    const counts = new Map<string, number>();
    for (const line of after) counts.set(line, (counts.get(line) ?? 0) + 1);
    for (const line of before) expect(counts.get(line)).toBe(1);
    expect([...counts.keys()].sort()).toEqual(["stage0", "stage1", "stage2", "stage3", "stage4", "stage5"]);
    const final = (await store.getFlowRun(run.id))!;
    expect(final.runCount).toBe(2);
  });

  it("a worker SIGKILLed between claim and start: its Pending run is Crashed, frees the pool's slot and is retried", async () => {
    await orchestration.upsertWorkPool({ name: "claim-kill", concurrencyLimit: 1 });
    const log = path.join(dir, `claim-kill-${dialect}.log`);
    const d = await deploy("claim-kill", "quick", { workPool: "claim-kill", retries: 1 });
    const run = await createRun(d, { n: 1 });
    // The fault-injection point holds the claimed run: the worker dies before starting it.
    const first = startWorkerProcess(url, "claim-kill", { E2E_LOG: log, BATON_TEST_PAUSE_AFTER_CLAIM_MS: "60000" });
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Pending", "the claim");
    first.child.kill("SIGKILL");
    await first.exit;
    const killedAt = Date.now();
    const other = await createRun(d, { n: 2 }); // waits for the pool's only slot, held by the Pending run
    const second = startWorkerProcess(url, "claim-kill", { E2E_LOG: log });
    // The second worker's crash check finds it: the clock starts once that worker is up (its
    // process start is no part of the detection, and takes seconds on a loaded machine).
    await until(async () => (await orchestration.listWorkers("claim-kill")).length >= 2, "the second worker to register", 30_000);
    const watchedFrom = Math.max(killedAt, Date.now());
    await until(async () => (await store.stateHistory(run.id)).some((s) => s.name === "Crashed"), "the Pending run to be found Crashed", 15_000);
    const crashed = (await store.stateHistory(run.id)).find((s) => s.name === "Crashed")!;
    expect(crashed.timestamp - watchedFrom).toBeLessThan(5_000); // three missed 500 ms worker beats, and a check
    expect(crashed.message).toMatch(/its worker has not heartbeated/);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Completed" && (await store.getFlowRun(other.id))!.state.name === "Completed", "both runs to complete", 20_000);
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Scheduled", "Pending", "Crashed", "AwaitingRetry", "Pending", "Running", "Completed"]);
    expect(fs.readFileSync(log, "utf8").trim().split("\n").sort()).toEqual([`run ${other.id}`, `run ${run.id}`].sort());
    second.child.kill("SIGTERM");
    await second.exit;
  });

  it("cancels a running run from the CLI: SIGTERM to its process, and it ends Cancelled", async () => {
    await orchestration.upsertWorkPool({ name: "main" });
    const d = await deploy("long", "staged");
    const run = await createRun(d, { stages: 100, ms: 100 });
    const worker = startWorkerProcess(url, "main");
    // A minute: a worker process and then its run's process start on a machine CI may load.
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Running", "the run to start", 60_000).catch(withOutputOf(worker));
    const cancel = await cli(["flow-run", "cancel", run.id], { BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "warn" });
    expect(cancel.code, cancel.stderr).toBe(0);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Cancelled", "the run to end Cancelled", 15_000);
    const tasks = await store.listTaskRuns(run.id);
    expect(tasks.length).toBeLessThan(100);
    worker.child.kill("SIGTERM");
    await worker.exit;
  });

  it("SIGKILLs a run's process that ignores SIGTERM once the cancel grace period is over", async () => {
    await orchestration.upsertWorkPool({ name: "stubborn" });
    const log = path.join(dir, `stubborn-${dialect}.log`);
    const run = await createRun(await deploy("stubborn", "stubborn", { workPool: "stubborn" }), { ms: 20_000 });
    // The run blocks its event loop: neither SIGTERM's handler nor its heartbeat (30 s) runs.
    const worker = startWorkerProcess(url, "stubborn", { E2E_LOG: log, BATON_HEARTBEAT_MS: "30000" }, ["--cancel-grace-ms", "1500"]);
    await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("blocking"), "the run to block", 60_000).catch(withOutputOf(worker));
    const cancelledAt = Date.now();
    await cancelFlowRun(store, run.id);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Cancelled", "the run to end Cancelled", 15_000);
    const ended = (await store.getFlowRun(run.id))!;
    expect(ended.state.timestamp - cancelledAt).toBeGreaterThanOrEqual(1400); // not before the grace period...
    expect(ended.state.timestamp - cancelledAt).toBeLessThan(10_000); // ...and long before the task would end
    expect(ended.state.message).toMatch(/stopped by the worker after a cancel request/);
    expect(worker.stdout()).toMatch(/SIGTERM, SIGKILL after 1500 ms/);
    worker.child.kill("SIGTERM");
    await worker.exit;
  });

  it("does not run a run cancelled between its claim and its start", async () => {
    await orchestration.upsertWorkPool({ name: "cancel-early" });
    const log = path.join(dir, `cancel-early-${dialect}.log`);
    const run = await createRun(await deploy("cancel-early", "quick", { workPool: "cancel-early" }));
    // The fault-injection point holds the claimed run for 1.5 s before the worker starts it.
    const worker = startWorkerProcess(url, "cancel-early", { E2E_LOG: log, BATON_TEST_PAUSE_AFTER_CLAIM_MS: "1500" }, ["--poll-ms", "30000"]);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Pending", "the claim");
    expect((await cancelFlowRun(store, run.id)).state.name).toBe("Cancelled");
    await until(() => worker.stdout().includes(`(${run.id}) ended Cancelled`), "the worker to report the run Cancelled", 15_000);
    expect(fs.existsSync(log)).toBe(false); // the flow function never ran
    worker.child.kill("SIGTERM");
    await worker.exit;
    // The run's process itself refuses a run that is no longer the Pending its worker claimed
    // (whether or not the worker stopped it first).
    const child = await cli(["execute-flow-run", run.id], { BATON_DATABASE_URL: url, BATON_WORKER_ID: "some-worker", BATON_LOG_LEVEL: "warn", E2E_LOG: log });
    expect(child.stdout).toMatch(/ended Cancelled/);
    expect(child.code).toBe(1);
    expect(fs.existsSync(log)).toBe(false);
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Scheduled", "Pending", "Cancelled"]);
  });

  it("notices a cancel within a second, however long it sleeps between claims", async () => {
    await orchestration.upsertWorkPool({ name: "cancel-fast" });
    const run = await createRun(await deploy("cancel-fast", "staged", { workPool: "cancel-fast" }), { stages: 100, ms: 100 });
    // The run's own heartbeat (30 s) would not see the cancel in time: the worker must.
    const worker = startWorkerProcess(url, "cancel-fast", { BATON_HEARTBEAT_MS: "30000" }, ["--poll-ms", "30000"]);
    // A minute: a worker process and then its run's process start on a machine CI may load.
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Running", "the run to start", 60_000).catch(withOutputOf(worker));
    const cancelledAt = Date.now();
    await cancelFlowRun(store, run.id);
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Cancelled", "the run to end Cancelled", 10_000);
    expect(Date.now() - cancelledAt).toBeLessThan(3_000);
    worker.child.kill("SIGTERM");
    await worker.exit;
  });

  it("starts a run's process with the job variables of its pool, deployment and run; a relative entrypoint is read from the job's cwd", async () => {
    const cwd = path.dirname(FLOWS);
    await orchestration.upsertWorkPool({ name: "jobvars", jobVariables: { env: { POOL_ONLY: "pool", SHARED: "pool" } } });
    const log = path.join(dir, `jobvars-${dialect}.log`);
    const d = await deploy("jobvars", "envReport", { workPool: "jobvars", entrypoint: "worker-flows.ts:envReport", jobVariables: { env: { SHARED: "deployment", DEPLOYMENT_ONLY: "deployment" }, cwd } });
    const run = await store.createFlowRun({
      id: newId(), flowName: d.flowName, name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      entrypoint: d.entrypoint, deploymentId: d.id, workPool: d.workPool, workQueue: d.workQueue, jobVariables: { env: { RUN_ONLY: "run" } },
      state: makeState("Scheduled", { scheduledAt: Date.now() }),
    });
    const worker = startWorkerProcess(url, "jobvars", { E2E_LOG: log, SHARED: "worker" });
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Completed", "the run to complete", 20_000);
    worker.child.kill("SIGTERM");
    await worker.exit;
    expect(fs.readFileSync(log, "utf8").trim()).toBe(`POOL_ONLY=pool SHARED=deployment DEPLOYMENT_ONLY=deployment RUN_ONLY=run cwd=${fs.realpathSync(cwd)}`);
  });

  it("does not start a run whose job variables, written into the database, set NODE_OPTIONS its pool does not allow: the injected code never runs", async () => {
    /** NODE_OPTIONS that makes any Node process it reaches write `marker` before anything else. */
    const injection = (marker: string) => ({ NODE_OPTIONS: `--import=data:text/javascript,import{writeFileSync}from'node:fs';writeFileSync('${marker}','injected')` });
    const runWith = async (pool: string, env: Record<string, string>) => {
      const d = await deploy(`${pool}-quick`, "quick", { workPool: pool });
      const run = await createRun(d);
      // Straight into the row: no API or CLI check in between.
      await store.db.updateTable("flow_runs").set({ job_variables: JSON.stringify({ env }) }).where("id", "=", run.id).execute();
      return run;
    };

    // A pool that allows it: the injected code runs (so the check below can fail).
    const allowedMarker = path.join(dir, `allowed-${dialect}.marker`);
    await orchestration.upsertWorkPool({ name: "lenient", allowEnv: ["NODE_OPTIONS"] });
    const allowedRun = await runWith("lenient", injection(allowedMarker));
    const lenient = startWorkerProcess(url, "lenient");
    await until(async () => (await store.getFlowRun(allowedRun.id))!.state.name === "Completed", "the allowed run to complete", 20_000);
    lenient.child.kill("SIGTERM");
    await lenient.exit;
    expect(fs.readFileSync(allowedMarker, "utf8")).toBe("injected");

    // A pool that does not: the run ends Failed naming the variable; a clean run beside it completes.
    const marker = path.join(dir, `refused-${dialect}.marker`);
    await orchestration.upsertWorkPool({ name: "strict" });
    const refused = await runWith("strict", injection(marker));
    const clean = await createRun((await orchestration.getDeployment("strict-quick"))!);
    const strict = startWorkerProcess(url, "strict");
    await until(async () => (await store.getFlowRun(clean.id))!.state.name === "Completed", "the clean run to complete", 20_000);
    strict.child.kill("SIGTERM");
    await strict.exit;
    const run = (await store.getFlowRun(refused.id))!;
    expect(run.state.name).toBe("Failed");
    expect(run.state.message).toMatch(/^not started: the run's job variables set NODE_OPTIONS, .* work pool "strict" does not allow it/);
    expect(run.workerId).toBeNull();
    expect(fs.existsSync(marker)).toBe(false);
  });
});
