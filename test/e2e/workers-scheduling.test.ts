/**
 * Scheduling and limits end to end, on SQLite and PostgreSQL, with real `baton worker start`
 * processes: the scheduler in workers; late marking in a paused pool; collision strategies;
 * rate limits; tag and global concurrency limits under load (never exceeded; a SIGKILLed
 * holder's slot comes back).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeState } from "../../src/core/states.ts";
import { scheduleDeployment } from "../../src/services/scheduling.ts";
import { acquireHeld } from "../../src/engine/concurrency.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { e2eDialects } from "../support/databases.ts";
import { BIN, cli, ROOT, startProcess, until } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase, FLOWS, maxOverlap, startWorkerProcess } from "./worker-harness.ts";

describe.each(e2eDialects("postgres"))("scheduling and limits with workers on %s", (dialect) => {
  let db: WorkerDatabase;
  let url: string;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let dir: string;
  const deploy: WorkerDatabase["deploy"] = (...args) => db.deploy(...args);
  const createRun: WorkerDatabase["createRun"] = (...args) => db.createRun(...args);

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    ({ url, store, orchestration, dir } = db);
  });
  afterAll(() => db.close());

  it("workers on the database run the scheduler: a cron deployment's runs are made once per slot and each run once", async () => {
    await orchestration.upsertWorkPool({ name: "cron" });
    const log = path.join(dir, `cron-${dialect}.log`);
    const d = await deploy("every-second", "quick", { workPool: "cron", schedules: [{ spec: { kind: "cron", cron: "* * * * * *", timezone: "UTC" } }] });
    // No server and no scheduling call here: two workers each run the scheduler every 300 ms.
    const settings = { E2E_LOG: log, BATON_SCHEDULE_HORIZON_MS: "3000", BATON_SCHEDULE_MAX_RUNS: "10" };
    const workers = [startWorkerProcess(url, "cron", settings, ["--scheduler-ms", "300"]), startWorkerProcess(url, "cron", settings, ["--scheduler-ms", "300"])];
    const completed = async () => (await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"], limit: 500 })).length;
    await until(async () => (await completed()) >= 2, "scheduled runs to complete", 60_000);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exit));
    const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 500 });
    expect(new Set(runs.map((r) => r.expectedStartTime)).size).toBe(runs.length); // one run per slot
    expect(runs.every((r) => r.expectedStartTime! % 1000 === 0)).toBe(true);
    const executed = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(new Set(executed).size).toBe(executed.length); // none run twice
    expect(executed.length).toBe(await completed());
    await orchestration.deleteDeployment(d.id);
  }, 120_000); // each run is a process: generous for a loaded machine

  it("marks runs Late after BATON_LATE_AFTER_MS while their pool is paused, honours BATON_SCHEDULE_MAX_RUNS, and runs them on resume", async () => {
    await orchestration.upsertWorkPool({ name: "late", paused: true });
    const d = await deploy("late-interval", "quick", { workPool: "late", schedules: [{ spec: { kind: "interval", intervalMs: 1000 } }] });
    const env = { BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "warn" };
    const worker = startWorkerProcess(url, "late", { BATON_SCHEDULE_MAX_RUNS: "2", BATON_LATE_AFTER_MS: "300", BATON_SCHEDULE_HORIZON_MS: "60000" }, ["--scheduler-ms", "200"]);
    const runsOf = () => store.listFlowRuns({ deploymentId: d.id, limit: 500 });
    const late = await until(async () => (await runsOf()).filter((r) => r.state.name === "Late").length >= 2 && runsOf(), "two runs to be Late", 45_000);
    for (const r of late) expect(["Late", "Scheduled"]).toContain(r.state.name); // the paused pool handed out none
    // At most 2 runs ahead per schedule (the default would make 60 within the horizon).
    expect(late.filter((r) => r.state.name === "Scheduled" && r.expectedStartTime! > Date.now()).length).toBeLessThanOrEqual(2);
    expect((await cli(["work-pool", "resume", "late"], env)).code).toBe(0);
    await until(async () => (await runsOf()).filter((r) => r.state.name === "Completed").length >= 2, "the Late runs to run after the resume", 60_000);
    worker.child.kill("SIGTERM");
    await worker.exit;
    await orchestration.deleteDeployment(d.id);
  }, 150_000);

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
    // The burst: with one slot back every 2 s, two slots at once can only come from the burst.
    await orchestration.upsertConcurrencyLimit({ name: `burst-${dialect}`, limit: 2, slotDecayPerSecond: 0.5 });
    const burstStart = Date.now();
    for (let i = 0; i < 2; i++) await acquireHeld(orchestration, [`burst-${dialect}`], { renew: false });
    expect(Date.now() - burstStart).toBeLessThan(1_500);

    await orchestration.upsertConcurrencyLimit({ name: `api-${dialect}`, limit: 2, slotDecayPerSecond: 10 });
    const start = Date.now();
    const taken: number[] = [];
    for (let i = 0; i < 6; i++) {
      await acquireHeld(orchestration, [`api-${dialect}`], { renew: false }); // what rateLimit() does
      taken.push(Date.now() - start);
    }
    // Then one every 100 ms: the 3rd slot no sooner than 100 ms after the start, the 6th 400 ms
    // (lower bounds: a loaded machine only makes them later).
    expect(taken[2]!).toBeGreaterThanOrEqual(90);
    expect(taken[5]!).toBeGreaterThanOrEqual(390);
    expect(taken[5]!).toBeLessThan(3_000);
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
    // Never exceeded. (Reaching it depends on the three processes overlapping, which a loaded
    // machine may not give; the in-process test below shows the limit is reached.)
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(2);
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
        // Long enough that a second holder gets in before the first lets go, even on a loaded machine.
        await new Promise((r) => setTimeout(r, 250));
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
});
