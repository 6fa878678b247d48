/**
 * Tasks with `workPool` end to end, on SQLite and PostgreSQL, with real `baton worker start`
 * processes: a parent deployment run (pool "parents") maps a task over 12 values whose attempts
 * are claimed by the two workers of pool "gpu"; one gpu worker and the parent's process are
 * SIGKILLed mid-map, and the map still completes in order, with no finished item run twice and
 * no second child for an attempt that existed. Retries, the cache and a missing pool behave as
 * for local tasks.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TASK_JOB_TAG } from "../../src/core/entrypoint.ts";
import { deserialize } from "../../src/core/serializer.ts";
import type { FlowRun } from "../../src/store/types.ts";
import { e2eDialects } from "../support/databases.ts";
import { ROOT, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/task-job-flows.ts");

describe.each(e2eDialects("postgres"))("tasks on a work pool on %s", (dialect) => {
  let db: WorkerDatabase;
  let log: string;
  const workers: Proc[] = [];
  const deploy = (name: string, flowName: string, extra = {}) =>
    db.orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: "parents", ...extra });
  // Heartbeats every 2 s: a loaded machine must not make a live run look crashed. w1 runs
  // its claims inside its own process (BATON_TEST_INLINE_RUNS: a dozen runs in seconds, and
  // they die with it); w2 starts a process per run, as a worker does.
  const gpuWorker = (name: string, inline: boolean) =>
    startWorkerProcess(db.url, "gpu", { E2E_LOG: log, E2E_WORKER: name, BATON_HEARTBEAT_MS: "2000", ...(inline ? { BATON_TEST_INLINE_RUNS: "1" } : {}) }, ["--heartbeat-ms", "2000", "--limit", inline ? "4" : "2"]);

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    log = path.join(db.dir, "log");
    await db.orchestration.upsertWorkPool({ name: "parents" });
    await db.orchestration.upsertWorkPool({ name: "gpu" });
    workers.push(startWorkerProcess(db.url, "parents", { E2E_LOG: log, BATON_HEARTBEAT_MS: "2000" }, ["--limit", "2", "--heartbeat-ms", "2000"]), gpuWorker("w1", true), gpuWorker("w2", false));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w)));
    await db.close();
  });

  const finished = (id: string) =>
    until(async () => {
      const run = await db.store.getFlowRun(id);
      return run && ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(run.state.type) && run;
    }, `flow run ${id} to end`, 120_000).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await describeRun(id)}`);
    });
  // What a timed-out wait shows: the run, its children and its error lines.
  const describeRun = async (id: string) => {
    const run = (await db.store.getFlowRun(id))!;
    const children = await db.store.listFlowRuns({ parentFlowRunId: id, limit: 100 });
    const errors = (await db.store.listLogs({ flowRunId: id, minLevel: 40, limit: 20 })).map((l) => l.message);
    return `${run.state.name} ${run.state.message ?? ""}; children ${children.map((c) => c.state.name).join(" ") || "none"}; errors ${errors.join(" | ") || "none"}; log ${lines().join(",")}`;
  };
  const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
  const resultOf = async (run: FlowRun) => deserialize((await db.store.getResult(run.resultId!))!.value!);

  it("a map of 12 trials runs on both gpu workers; a worker and the parent SIGKILLed mid-map: every result in order, no item finished twice, no attempt started twice", async () => {
    const parent = await deploy("sweep", "sweep", { retries: 1 });
    const gate = path.join(db.dir, "gate");
    const pidFile = path.join(db.dir, "parent.pid");
    const lrs = Array.from({ length: 12 }, (_, i) => i);
    const run = await db.createRun(parent, { lrs, gate, holdFrom: 2, pidFile });
    // w1 holds the trials from 2 on that it claims (until it dies); w2 finishes whatever it claims.
    await until(() => lines().filter((l) => l.startsWith("done ")).length >= 4 && lines().some((l) => /^start ([2-9]|1\d) w1$/.test(l)), "four trials done and w1 holding one", 90_000).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await describeRun(run.id)}`);
    });
    process.kill(Number(fs.readFileSync(pidFile, "utf8")), "SIGKILL");
    workers[1]!.child.kill("SIGKILL");
    await workers[1]!.exit;
    // A worker joins the pool (w2 alone, starting a process per run, is slow on a loaded machine).
    workers.push(gpuWorker("w3", true));
    await until(async () => (await db.store.getFlowRun(run.id))!.runCount === 2, "the parent's retry to start", 60_000);
    fs.writeFileSync(gate, "");
    const done = await finished(run.id);
    expect(done.state.name, done.state.message ?? "").toBe("Completed");
    expect(await resultOf(done)).toEqual(lrs.map((lr) => lr * 10));

    const children = await db.store.listFlowRuns({ parentFlowRunId: run.id, limit: 100 });
    expect(children.every((c) => c.tags.includes(TASK_JOB_TAG) && c.workPool === "gpu" && c.deploymentId === null)).toBe(true);
    // One child per attempt, and a new one only for an attempt whose child crashed with w1.
    const crashed = children.filter((c) => c.state.name === "Crashed");
    expect(crashed.length).toBeGreaterThan(0);
    expect(children.filter((c) => c.state.name === "Completed")).toHaveLength(12);
    expect(children).toHaveLength(12 + crashed.length);
    const trials = (await db.store.listTaskRuns(run.id)).filter((t) => t.taskName === "train");
    expect(trials).toHaveLength(12);
    expect(trials.every((t) => t.state.name === "Completed")).toBe(true);
    // Each child is linked to its own trial's task run.
    expect(new Set(children.map((c) => c.parentTaskRunId))).toEqual(new Set(trials.map((t) => t.id)));
    // Each trial finished once; both first workers did a share.
    const doneLines = lines().filter((l) => l.startsWith("done "));
    expect(doneLines.map((l) => Number(l.split(" ")[1])).sort((a, b) => a - b)).toEqual(lrs);
    const starters = new Set(lines().filter((l) => l.startsWith("start ")).map((l) => l.split(" ")[2]));
    expect(starters.has("w1") && starters.has("w2")).toBe(true);
    const logs = await db.store.listLogs({ flowRunId: run.id, limit: 1000 });
    expect(logs.some((l) => /crashed .*running the attempt again on the pool \(1 of 3, the task's retries untouched\)/.test(l.message))).toBe(true);
  }, 180_000);

  it("a failing attempt is retried on the pool, a cache hit delegates nothing, a missing pool is refused by name", async () => {
    const parent = await deploy("checks", "checks");
    const before = lines().filter((l) => l.startsWith("cube ")).length;
    const done = await finished((await db.createRun(parent, { marker: path.join(db.dir, "flaky-marker") })).id);
    expect(done.state.name, done.state.message ?? "").toBe("Completed");
    const result = (await resultOf(done)) as { retried: number; first: number; cached: number; missing: string };
    expect(result).toMatchObject({ retried: 42, first: 27, cached: 27 });
    expect(result.missing).toContain('work pool "no-such-pool" (task option workPool) does not exist; create it with `baton work-pool create no-such-pool`');
    expect(lines().filter((l) => l.startsWith("cube ")).length - before).toBe(1);
    const children = await db.store.listFlowRuns({ parentFlowRunId: done.id, limit: 20 });
    const tasks = await db.store.listTaskRuns(done.id);
    const flaky = tasks.find((t) => t.taskName === "flaky")!;
    // Two attempts, two children: the first Failed with the task's own error.
    const flakyKids = children.filter((c) => c.parentTaskRunId === flaky.id).sort((a, b) => a.createdAt - b.createdAt);
    expect(flakyKids.map((c) => c.state.name)).toEqual(["Failed", "Completed"]);
    expect(flakyKids[0]!.error).toMatchObject({ name: "RangeError", message: "flaky refused 21 once" });
    expect(flaky).toMatchObject({ state: { name: "Completed" }, runCount: 2 });
    expect(tasks.filter((t) => t.taskName === "cube").map((t) => t.state.name)).toEqual(["Completed", "Cached"]);
    expect(children).toHaveLength(3); // flaky twice, cube once; the missing pool none
  }, 120_000);
});
