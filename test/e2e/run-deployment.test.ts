/**
 * `runDeployment` end to end with real workers on SQLite and PostgreSQL: a parent deployment run
 * (one worker's pool) fans out runs of a child deployment (another worker's pool) and sums their
 * results; SIGKILLed while it waits, the parent is retried, finds the children it started and
 * starts none again; a failing child's error reaches the parent, naming it.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize } from "../../src/core/serializer.ts";
import { ROOT, stopProcess, until, type Proc } from "../support/processes.ts";
import { e2eDialects } from "../support/databases.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/run-deployment-flows.ts");

describe.each(e2eDialects("sqlite"))("runDeployment on %s", (dialect) => {
  let db: WorkerDatabase;
  const workers: Proc[] = [];
  const deploy = (name: string, flowName: string, pool: string, extra = {}) =>
    db.orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: pool, ...extra });

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    await db.orchestration.upsertWorkPool({ name: "parents" });
    await db.orchestration.upsertWorkPool({ name: "kids" });
    await deploy("square", "square", "kids");
    // Heartbeats every 2 s: a run's process slowed down by a loaded machine must not be taken for crashed.
    const env = { E2E_LOG: path.join(db.dir, "log"), BATON_HEARTBEAT_MS: "2000" };
    workers.push(startWorkerProcess(db.url, "parents", env, ["--heartbeat-ms", "2000"]), startWorkerProcess(db.url, "kids", env, ["--limit", "4", "--heartbeat-ms", "2000"]));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w)));
    await db.close();
  });

  const finished = (id: string) =>
    until(async () => {
      const run = await db.store.getFlowRun(id);
      return run && ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(run.state.type) && run;
    }, `flow run ${id} to end`, 90_000);

  it("a parent run fans out child deployment runs on another pool's worker and sums their results; SIGKILLed while it waits, its retry starts no second child", async () => {
    const parent = await deploy("sum-of-squares", "sumOfSquares", "parents", { retries: 1 });
    const gate = path.join(db.dir, "gate");
    const pidFile = path.join(db.dir, "parent.pid");
    const run = await db.createRun(parent, { xs: [1, 2, 3], gate, pidFile });
    const children = () => db.store.listFlowRuns({ parentFlowRunId: run.id, limit: 50 });
    // The three children are Running (held at the gate) when the parent's process dies.
    const states = async () => `parent ${(await db.store.getFlowRun(run.id))!.state.name}, children ${(await children()).map((c) => c.state.name).join(" ")}`;
    await until(async () => (await children()).filter((c) => c.state.name === "Running").length === 3, "three running children", 90_000).catch(async (e: Error) => {
      throw new Error(`${e.message} (${await states()})`);
    });
    process.kill(Number(fs.readFileSync(pidFile, "utf8")), "SIGKILL");
    await until(async () => (await db.store.getFlowRun(run.id))!.runCount === 2, "the parent's retry to start", 60_000);
    fs.writeFileSync(gate, "");
    const done = await finished(run.id);
    expect(done.state.name, done.state.message ?? "").toBe("Completed");
    const result = await db.store.getResult(done.resultId!);
    expect(deserialize(result!.value!)).toBe(4 + 9 + 16);
    const kids = await children();
    expect(kids).toHaveLength(3);
    expect(kids.every((k) => k.state.name === "Completed" && k.deploymentId !== null && k.tags.includes("child"))).toBe(true);
    // Each child is linked to its own task run of the parent, and ran once.
    const tasks = await db.store.listTaskRuns(run.id);
    const calls = tasks.filter((t) => t.taskName === "run-deployment");
    expect(calls).toHaveLength(3);
    expect(new Set(kids.map((k) => k.parentTaskRunId))).toEqual(new Set(calls.map((t) => t.id)));
    const log = fs.readFileSync(path.join(db.dir, "log"), "utf8").trim().split("\n");
    expect(log.filter((l) => l.startsWith("child "))).toHaveLength(3);
    expect(log.filter((l) => l === "prepare")).toHaveLength(1); // the retry reused the finished task
  }, 180_000);

  it("a child that fails throws in the parent a FlowRunError naming it", async () => {
    const parent = await deploy("failing-child", "failingChild", "parents");
    const done = await finished((await db.createRun(parent)).id);
    expect(done.state.name, done.state.message ?? "").toBe("Completed");
    const message = deserialize<string>((await db.store.getResult(done.resultId!))!.value!);
    const [kid] = await db.store.listFlowRuns({ parentFlowRunId: done.id, limit: 5 });
    // Awaiting a task run that failed throws its TaskRunError, as for any task; it names the child run.
    expect(message).toContain(`flow run ${kid!.id} of "square" ended Failed: square refused 2`);
  }, 120_000);
});
