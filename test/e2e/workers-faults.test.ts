/**
 * Workers under faults, on SQLite and PostgreSQL, with real `baton worker start` processes:
 * a run Crashed by a sweep in some other process is still retried; a run whose process cannot
 * start uses its retries up and says why, and its worker still stops at once on SIGTERM; a
 * worker asked to stop gives its runs a grace period, then hands them back Crashed for a retry.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { e2eDialects } from "../support/databases.ts";
import { cli, until } from "../support/processes.ts";
import { FLOWS, openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

describe.each(e2eDialects("sqlite"))("workers under faults on %s", (dialect) => {
  let db: WorkerDatabase;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    ({ store, orchestration } = db);
    await orchestration.upsertWorkPool({ name: "main" });
  });
  afterAll(() => db.close());

  it("a run Crashed by a sweep in another process (a `baton run`) is scheduled for its retry and completes", async () => {
    const marker = path.join(db.dir, `marker-sweep-${dialect}`);
    const log = path.join(db.dir, `sweep-${dialect}.log`);
    const d = await db.deploy("sleepy-sweep", "sleepyOnce", { retries: 3 });
    const run = await db.createRun(d, { marker, ms: 60_000 });
    const first = startWorkerProcess(db.url, "main", { E2E_LOG: log });
    await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("sleeping"), "the run to start");
    first.child.kill("SIGKILL");
    await first.exit;
    // Its process stops with the worker (the lifeline); three missed 200 ms beats later it is stale.
    await new Promise((r) => setTimeout(r, 1_500));
    const other = await cli(["run", FLOWS, "--flow", "quick"], { BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "warn", BATON_HOME: db.dir });
    expect(other.code, other.stderr).toBe(0);
    const swept = (await store.getFlowRun(run.id))!;
    expect(swept).toMatchObject({ state: { name: "AwaitingRetry" }, retriesUsed: 1 });
    expect(swept.state.message).toMatch(/^retry 1 of 3 after Crashed/);
    const second = startWorkerProcess(db.url, "main", { E2E_LOG: log });
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Completed", "the retried run to complete", 20_000);
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Running", "Completed"]);
  });

  it("a run whose process cannot start uses its retries up, says why, and its worker stops at once on SIGTERM", async () => {
    const missingCwd = await db.deploy("no-cwd", "quick", { retries: 2, retryDelayMs: 0, jobVariables: { cwd: "/srv/ml-does-not-exist" } });
    const missingFile = await orchestration.upsertDeployment({ name: "no-file", flowName: "quick", entrypoint: "flows/missing.ts:quick", workPool: "main", retries: 1, retryDelayMs: 0 });
    const noCwd = await db.createRun(missingCwd);
    const noFile = await db.createRun(missingFile);
    const worker = startWorkerProcess(db.url, "main");
    const ended = async (id: string) => {
      const r = (await store.getFlowRun(id))!;
      return r.state.name === "Crashed" && r;
    };
    const cwdRun = await until(() => ended(noCwd.id), "the run without a working directory to use its retries", 40_000);
    const fileRun = await until(() => ended(noFile.id), "the run without an entrypoint to use its retries", 40_000);
    expect(cwdRun).toMatchObject({ retriesUsed: 2, runCount: 0 });
    expect(cwdRun.state.message).toBe("the flow run's process could not start: its working directory /srv/ml-does-not-exist (job variable cwd) is not a directory");
    expect(fileRun.retriesUsed).toBe(1);
    expect(fileRun.state.message).toMatch(/process exited with code 1 before the run finished; its last output: .*flows\/missing\.ts does not exist/);
    // Three attempts, and nothing more: no endless retry loop.
    await new Promise((r) => setTimeout(r, 1_000));
    const history = await store.stateHistory(noCwd.id);
    expect(history.map((s) => s.name)).toEqual(["Scheduled", "Pending", "Crashed", "AwaitingRetry", "Pending", "Crashed", "AwaitingRetry", "Pending", "Crashed"]);
    const stopAt = Date.now();
    worker.child.kill("SIGTERM");
    expect(await worker.exit).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(3_000);
  });

  it("a worker asked to stop gives its runs a grace period, then hands them back Crashed for a retry", async () => {
    const marker = path.join(db.dir, `marker-shutdown-${dialect}`);
    const log = path.join(db.dir, `shutdown-${dialect}.log`);
    const d = await db.deploy("sleepy-shutdown", "sleepyOnce", { retries: 1 });
    const run = await db.createRun(d, { marker, ms: 60_000 });
    const first = startWorkerProcess(db.url, "main", { E2E_LOG: log }, ["--shutdown-grace-ms", "700"]);
    await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("sleeping"), "the run to start");
    const stopAt = Date.now();
    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);
    expect(Date.now() - stopAt).toBeGreaterThanOrEqual(650);
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(first.stdout()).toMatch(/Waiting up to 700 ms for 1 running flow run/);
    const handedBack = (await store.getFlowRun(run.id))!;
    expect(handedBack.state.name).toBe("AwaitingRetry");
    expect((await store.stateHistory(run.id)).find((s) => s.name === "Crashed")!.message).toBe("its worker shut down before the run finished (its process was killed)");
    const second = startWorkerProcess(db.url, "main", { E2E_LOG: log });
    await until(async () => (await store.getFlowRun(run.id))!.state.name === "Completed", "the retried run to complete", 20_000);
    second.child.kill("SIGTERM");
    await second.exit;
  });
});
