/**
 * Workers end to end, on SQLite and PostgreSQL, with real `baton worker start` processes: two
 * workers sharing a pool run 200 runs each exactly once (on the database and behind a server);
 * a worker SIGKILLed mid-run or between claim and start (Crashed, then a durable retry);
 * cancellation from the CLI and the API, before a run starts, and of a run that ignores SIGTERM;
 * job variables; the scheduler in workers and in the server; late marking in a paused pool;
 * collision strategies; rate limits; tag and global concurrency limits under load (never
 * exceeded; a SIGKILLed holder's slot comes back).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { cancelFlowRun } from "../../src/engine/run-operations.ts";
import { scheduleDeployment } from "../../src/engine/scheduling.ts";
import { acquireHeld } from "../../src/engine/concurrency.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, DeploymentInput, FlowRun } from "../../src/store/types.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { ApiClient } from "../../src/client/api-client.ts";
import { BIN, cli, ROOT, startProcess, until, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/worker-flows.ts");


/** The most intervals [start, end] open at one instant. */
function maxOverlap(intervals: readonly (readonly [number, number])[]): number {
  const events = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peak = 0;
  for (const [, delta] of events) peak = Math.max(peak, (open += delta));
  return peak;
}

function startWorkerProcess(url: string, pool: string, extra: Record<string, string> = {}, more: string[] = []): Proc {
  const args = ["worker", "start", "--pool", pool, "--limit", "2", "--poll-ms", "200", "--cancel-grace-ms", "2000", "--heartbeat-ms", "500", ...more];
  return startProcess([BIN, ...args], { BATON_DATABASE_URL: url, BATON_HEARTBEAT_MS: "200", BATON_LOG_LEVEL: "warn", ...extra });
}

describe.each(DIALECTS)("workers on %s", (dialect) => {
  let url: string;
  let cleanup: () => Promise<void>;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let dir: string;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    url = db.url;
    cleanup = db.cleanup;
    store = await openStore(url);
    orchestration = new KyselyOrchestrationStore(store);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-workers-"));
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function deploy(name: string, flowName: string, extra: Partial<DeploymentInput> = {}): Promise<Deployment> {
    return orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: extra.workPool ?? "main", ...extra });
  }

  async function createRun(d: Deployment, parameters: Record<string, unknown> = {}): Promise<FlowRun> {
    return store.createFlowRun({
      id: newId(), flowName: d.flowName, name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters, tags: [], version: null,
      entrypoint: d.entrypoint, deploymentId: d.id, workPool: d.workPool, workQueue: d.workQueue, state: makeState("Scheduled", { scheduledAt: Date.now() }),
    });
  }

  /**
   * Every run of `d` completed, appended its id to `log` exactly once, was run by one of two
   * workers (both did some), and no more than `limit` of them were Running at once.
   */
  async function expectEachRunOnce(d: Deployment, log: string, limit: number): Promise<void> {
    const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 500 });
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(runs.length);
    expect(new Set(lines)).toEqual(new Set(runs.map((r) => `run ${r.id}`)));
    expect(new Set(runs.map((r) => r.workerId)).size).toBe(2);
    const intervals = await Promise.all(
      runs.map(async (r) => {
        const history = await store.stateHistory(r.id);
        return [history.find((h) => h.name === "Running")!.timestamp, history.find((h) => h.name === "Completed")!.timestamp] as const;
      }),
    );
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(limit);
  }

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
    await until(async () => (await completed()) === 200, "200 completed runs", 60_000);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exit));
    await expectEachRunOnce(d, log, 6);
  });

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
    await until(async () => (await store.stateHistory(run.id)).some((s) => s.name === "Crashed"), "the run to be found Crashed", 15_000);
    const crashedAt = (await store.stateHistory(run.id)).find((s) => s.name === "Crashed")!.timestamp;
    expect(crashedAt - killedAt).toBeLessThan(8_000);
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
    await until(async () => (await store.stateHistory(run.id)).some((s) => s.name === "Crashed"), "the Pending run to be found Crashed", 15_000);
    const crashed = (await store.stateHistory(run.id)).find((s) => s.name === "Crashed")!;
    expect(crashed.timestamp - killedAt).toBeLessThan(5_000); // three missed 500 ms worker beats, and a check
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
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Running", "the run to start");
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
    await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("blocking"), "the run to block");
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
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Running", "the run to start");
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

  it("workers on the database run the scheduler: a cron deployment's runs are made once per slot and each run once", async () => {
    await orchestration.upsertWorkPool({ name: "cron" });
    const log = path.join(dir, `cron-${dialect}.log`);
    const d = await deploy("every-second", "quick", { workPool: "cron", schedules: [{ spec: { kind: "cron", cron: "* * * * * *", timezone: "UTC" } }] });
    // No server and no scheduling call here: two workers each run the scheduler every 300 ms.
    const settings = { E2E_LOG: log, BATON_SCHEDULE_HORIZON_MS: "3000", BATON_SCHEDULE_MAX_RUNS: "10" };
    const workers = [startWorkerProcess(url, "cron", settings, ["--scheduler-ms", "300"]), startWorkerProcess(url, "cron", settings, ["--scheduler-ms", "300"])];
    const completed = async () => (await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"], limit: 500 })).length;
    await until(async () => (await completed()) >= 2, "scheduled runs to complete", 20_000);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exit));
    const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 500 });
    expect(new Set(runs.map((r) => r.expectedStartTime)).size).toBe(runs.length); // one run per slot
    expect(runs.every((r) => r.expectedStartTime! % 1000 === 0)).toBe(true);
    const executed = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(new Set(executed).size).toBe(executed.length); // none run twice
    expect(executed.length).toBe(await completed());
    await orchestration.deleteDeployment(d.id);
  });

  it("marks runs Late after BATON_LATE_AFTER_MS while their pool is paused, honours BATON_SCHEDULE_MAX_RUNS, and runs them on resume", async () => {
    await orchestration.upsertWorkPool({ name: "late", paused: true });
    const d = await deploy("late-interval", "quick", { workPool: "late", schedules: [{ spec: { kind: "interval", intervalMs: 1000 } }] });
    const env = { BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "warn" };
    const worker = startWorkerProcess(url, "late", { BATON_SCHEDULE_MAX_RUNS: "2", BATON_LATE_AFTER_MS: "300", BATON_SCHEDULE_HORIZON_MS: "60000" }, ["--scheduler-ms", "200"]);
    const runsOf = () => store.listFlowRuns({ deploymentId: d.id, limit: 500 });
    const late = await until(async () => (await runsOf()).filter((r) => r.state.name === "Late").length >= 2 && runsOf(), "two runs to be Late", 15_000);
    for (const r of late) expect(["Late", "Scheduled"]).toContain(r.state.name); // the paused pool handed out none
    // At most 2 runs ahead per schedule (the default would make 60 within the horizon).
    expect(late.filter((r) => r.state.name === "Scheduled" && r.expectedStartTime! > Date.now()).length).toBeLessThanOrEqual(2);
    expect((await cli(["work-pool", "resume", "late"], env)).code).toBe(0);
    await until(async () => (await runsOf()).filter((r) => r.state.name === "Completed").length >= 2, "the Late runs to run after the resume", 20_000);
    worker.child.kill("SIGTERM");
    await worker.exit;
    await orchestration.deleteDeployment(d.id);
  });

  it("applies a deployment's concurrency limit with its collision strategy, and per-schedule pause", async () => {
    await orchestration.upsertWorkPool({ name: "collide" });
    const enqueue = await deploy("one-at-a-time", "quick", { workPool: "collide", concurrencyLimit: 1, collisionStrategy: "enqueue" });
    const cancelNew = await deploy("no-overlap", "quick", { workPool: "collide", concurrencyLimit: 1, collisionStrategy: "cancel-new" });
    const [e1, e2] = [await createRun(enqueue), await createRun(enqueue)];
    const [c1, c2] = [await createRun(cancelNew), await createRun(cancelNew)];
    const claimed = await orchestration.claimFlowRuns("collide", "w", 10, Date.now());
    expect(claimed.map((r) => r.id).sort()).toEqual([e1.id, c1.id].sort());
    expect((await store.getFlowRun(e2.id))!.state.name).toBe("Scheduled"); // waits its turn
    expect((await store.getFlowRun(c2.id))!.state.name).toBe("Cancelled"); // refused
    await store.setFlowRunState(e1.id, makeState("Running"));
    await store.setFlowRunState(e1.id, makeState("Completed"));
    expect((await orchestration.claimFlowRuns("collide", "w", 10, Date.now())).map((r) => r.id)).toEqual([e2.id]);

    const scheduled = await deploy("two-schedules", "quick", {
      workPool: "collide",
      schedules: [{ spec: { kind: "interval", intervalMs: 60_000 } }, { spec: { kind: "interval", intervalMs: 3_600_000, anchor: 30_000 } }],
    });
    const horizon = { scheduleHorizonMs: 3 * 3_600_000, scheduleMaxRuns: 1000 };
    expect(await scheduleDeployment(orchestration, scheduled, horizon)).toBe(180 + 3);
    const paused = (await orchestration.setScheduleActive("two-schedules", scheduled.schedules[0]!.id, false))!;
    expect(paused.schedules.map((s) => s.active)).toEqual([false, true]);
    expect(await scheduleDeployment(orchestration, paused, horizon)).toBe(3);
    const future = (await store.listFlowRuns({ flowName: "quick", stateNames: ["Scheduled"], limit: 500 })).filter((r) => r.deploymentId === scheduled.id);
    expect(future).toHaveLength(3);
  });

  it("a rate limit sustains `decay` slots per second after a burst of `limit`", async () => {
    await orchestration.upsertConcurrencyLimit({ name: `api-${dialect}`, limit: 2, slotDecayPerSecond: 10 });
    const start = Date.now();
    const taken: number[] = [];
    for (let i = 0; i < 6; i++) {
      await acquireHeld(orchestration, [`api-${dialect}`], { renew: false }); // what rateLimit() does
      taken.push(Date.now() - start);
    }
    // A burst of 2 at once, then one every 100 ms: the 6th slot comes 400 ms after the start.
    expect(taken[1]!).toBeLessThan(100);
    expect(taken[2]!).toBeGreaterThanOrEqual(90);
    expect(taken[5]!).toBeGreaterThanOrEqual(390);
    expect(taken[5]!).toBeLessThan(2_000);
  });

  it("tag limits hold under load across processes: tasks tagged e2e-db never run more than 2 at once", async () => {
    await orchestration.upsertConcurrencyLimit({ name: "e2e-db", limit: 2 });
    const log = path.join(dir, `tagged-${dialect}.log`);
    const env = { BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "warn", E2E_LOG: log };
    // Three processes, eight concurrent tasks each, all wanting a slot of the same limit.
    const runs = [1, 2, 3].map(() => startProcess([BIN, "run", FLOWS, "--flow", "tagged", "--param", "n=8", "--param", "ms=60"], env));
    const codes = await Promise.all(runs.map((r) => r.exit));
    expect(codes, runs.map((r) => r.stderr()).join("\n")).toEqual([0, 0, 0]);
    const intervals = fs.readFileSync(log, "utf8").trim().split("\n").map((line) => {
      const [, start, end] = line.split(" ");
      return [Number(start), Number(end)] as const;
    });
    expect(intervals).toHaveLength(24);
    expect(maxOverlap(intervals)).toBe(2); // reached, never exceeded
    expect((await orchestration.getConcurrencyLimit("e2e-db"))!.activeSlots).toBe(0);
  });

  it("never exceeds a concurrency limit, and a SIGKILLed holder's slot comes back", async () => {
    await orchestration.upsertConcurrencyLimit({ name: `db-${dialect}`, limit: 2 });
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const held = await acquireHeld(orchestration, [`db-${dialect}`]);
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        await held.release();
      }),
    );
    expect(peak).toBe(2);
    expect((await orchestration.getConcurrencyLimit(`db-${dialect}`))!.activeSlots).toBe(0);

    await orchestration.upsertConcurrencyLimit({ name: "gpu", limit: 1 });
    const log = path.join(dir, `holder-${dialect}.log`);
    const child = spawn(process.execPath, [BIN, "run", FLOWS, "--flow", "holder"], {
      cwd: ROOT,
      env: { ...process.env, BATON_DATABASE_URL: url, BATON_LEASE_TTL_MS: "900", E2E_LOG: log, BATON_LOG_LEVEL: "warn" },
      stdio: "ignore",
    });
    await until(async () => fs.existsSync(log) && true, "the holder to take the slot");
    expect((await orchestration.getConcurrencyLimit("gpu"))!.activeSlots).toBe(1);
    expect(await orchestration.acquireSlots(["gpu"], "other", 1, 1000, Date.now())).toBeNull();
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const leases = await until(async () => (await orchestration.acquireSlots(["gpu"], "other", 1, 1000, Date.now())) ?? undefined, "the slot to come back", 5_000);
    expect(leases).toHaveLength(1);
  });

  describe("behind a server", () => {
    let server: { proc: Proc; url: string };
    let api: ApiClient;
    const remote = (extra: Record<string, string> = {}) => ({ BATON_API_URL: server.url, ...extra });

    beforeAll(async () => {
      // Made before the server starts: the first pass of its scheduler turns it into runs.
      await orchestration.upsertWorkPool({ name: "srv-cron" });
      await deploy("srv-every-second", "quick", { workPool: "srv-cron", schedules: [{ spec: { kind: "cron", cron: "* * * * * *" } }] });
      const proc = startProcess([BIN, "server", "start", "--port", "0"], { BATON_DATABASE_URL: url, BATON_SERVER_LOG_LEVEL: "warn" });
      const serverUrl = await until(() => /listening on (http:\/\/\S+) /.exec(proc.stdout())?.[1], "the server");
      server = { proc, url: serverUrl };
      api = new ApiClient({ baseUrl: serverUrl });
    });
    afterAll(async () => {
      server.proc.child.kill("SIGTERM");
      await server.proc.exit;
    });

    it("two remote worker processes: 200 runs created through the API, each run exactly once", async () => {
      await api.request("POST", "/api/work-pools", { name: "srv-shared" });
      await api.request("POST", "/api/work-pools/srv-shared/queues", { name: "default", concurrencyLimit: 6 });
      const d = await api.request<Deployment>("POST", "/api/deployments", { name: "srv-quick", flowName: "quick", entrypoint: `${FLOWS}:quick`, workPool: "srv-shared" });
      const log = path.join(dir, `srv-shared-${dialect}.log`);
      const env = remote({ E2E_LOG: log, BATON_TEST_INLINE_RUNS: "1" });
      const workers = [startWorkerProcess(url, "srv-shared", env, ["--limit", "5"]), startWorkerProcess(url, "srv-shared", env, ["--limit", "5"])];
      for (let i = 0; i < 200; i++) await api.request("POST", "/api/deployments/srv-quick/runs", { parameters: { n: i } });
      const completed = async () => (await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"], limit: 500 })).length;
      await until(async () => (await completed()) === 200, "200 completed runs", 60_000);
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exit));
      await expectEachRunOnce(d, log, 6);
    });

    it("the server's scheduler turns a cron deployment into runs that a remote worker executes", async () => {
      const d = (await orchestration.getDeployment("srv-every-second"))!;
      const worker = startWorkerProcess(url, "srv-cron", remote());
      await until(async () => (await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"] })).length >= 2, "scheduled runs to complete", 30_000);
      worker.child.kill("SIGTERM");
      await worker.exit;
      const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 500 });
      expect(runs.every((r) => r.expectedStartTime !== null && r.expectedStartTime % 1000 === 0)).toBe(true);
      expect(new Set(runs.map((r) => r.expectedStartTime)).size).toBe(runs.length);
      await api.request("DELETE", "/api/deployments/srv-every-second");
    });

    it("cancels a remote worker's running run through the API: its process stops and it ends Cancelled", async () => {
      await api.request("POST", "/api/work-pools", { name: "srv-cancel" });
      await api.request("POST", "/api/deployments", { name: "srv-long", flowName: "staged", entrypoint: `${FLOWS}:staged`, workPool: "srv-cancel" });
      const run = await api.request<FlowRun>("POST", "/api/deployments/srv-long/runs", { parameters: { stages: 100, ms: 100 } });
      const worker = startWorkerProcess(url, "srv-cancel", remote({ BATON_HEARTBEAT_MS: "30000" }));
      await until(async () => (await api.request<FlowRun>("GET", `/api/flow-runs/${run.id}`)).state.name === "Running", "the run to start", 20_000);
      expect((await api.request<FlowRun>("POST", `/api/flow-runs/${run.id}/cancel`)).state.name).toBe("Cancelling");
      await until(async () => (await api.request<FlowRun>("GET", `/api/flow-runs/${run.id}`)).state.name === "Cancelled", "the run to end Cancelled", 10_000);
      expect((await store.listTaskRuns(run.id)).length).toBeLessThan(100);
      worker.child.kill("SIGTERM");
      await worker.exit;
    });
  });
});
