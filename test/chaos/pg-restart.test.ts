/**
 * PostgreSQL restarted under running processes (issue 17, item 3), on a private cluster of the
 * test's own (`pg_ctl -m immediate`, never the shared server):
 *   - `baton run` of 300 short tasks rides out a restart mid-run: the run completes, no task
 *     runs twice, no state is stored twice, nothing is left Running;
 *   - a worker started while the server is down waits for it, then runs the pool's runs, and
 *     after a restart hears of new runs again (LISTEN re-established: it polls only once a minute);
 *   - a run process whose database stays away longer than BATON_DATABASE_RETRY_MS ends with
 *     one clear line and a non-zero exit, not a stack trace.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { openStore } from "../../src/store/open.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { privateClusterUnavailable, startPrivateCluster, type PrivateCluster } from "../support/pg-cluster.ts";
import { BIN, startProcess, until, type Proc } from "../support/processes.ts";

const FLOWS = path.join(import.meta.dirname, "fixtures", "restart-flows.ts");
const unavailable = privateClusterUnavailable();
const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []);

/** `until`, with what `proc` printed added to a timeout's message. */
function untilSeen<T>(proc: Proc, probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> {
  return until(probe, what, ms).catch((error: Error) => {
    throw new Error(`${error.message}\nits process's stdout:\n${proc.stdout()}\nstderr:\n${proc.stderr().slice(-4_000)}`);
  });
}

describe.skipIf(unavailable !== null)(`PostgreSQL restarted under Baton's processes${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let cluster: PrivateCluster;
  let dir: string;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-restart-"));
  });

  afterAll(async () => {
    await cluster?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh database on the cluster, its store (which rides out the restarts too) and a log file. */
  async function setUp(name: string): Promise<{ url: string; store: KyselyStore; log: string; env: Record<string, string> }> {
    const url = await cluster.createDatabase(name);
    const store = await openStore(url, { retryMs: 30_000 });
    const log = path.join(dir, `${name}.log`);
    const env = { BATON_DATABASE_URL: url, BATON_HOME: path.join(dir, name), BATON_HEARTBEAT_MS: "300", BATON_LOG_LEVEL: "warn", RESTART_LOG: log };
    return { url, store, log, env };
  }

  it("baton run of 300 tasks completes through a restart, each task run once", async () => {
    const { store, log, env } = await setUp("fanout");
    try {
      const proc = startProcess([BIN, "run", FLOWS, "--flow", "restartFanout"], env);
      await untilSeen(proc, () => lines(log).length >= 60, "60 tasks to run");
      const ranBefore = lines(log).length;
      await cluster.restart();
      const code = await proc.exit;
      expect(code, proc.stderr()).toBe(0);
      expect(ranBefore).toBeLessThan(300); // the restart came mid-run
      expect(proc.stdout()).toMatch(/ended Completed/);
      expect(proc.stderr()).not.toMatch(/\n\s+at |Unhandled|uncaught/i);

      const runs = await store.listFlowRuns({ flowName: "restartFanout" });
      expect(runs.map((r) => r.state.name)).toEqual(["Completed"]);
      const run = runs[0]!;
      expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Pending", "Running", "Completed"]);
      const tasks = await store.listTaskRuns(run.id);
      expect(tasks).toHaveLength(300);
      expect(tasks.filter((t) => t.state.type !== "COMPLETED")).toEqual([]);
      // Each task executed once: no finished task ran again after the restart.
      const ran = lines(log);
      expect(ran).toHaveLength(300);
      expect(new Set(ran).size).toBe(300);
      // No batch was applied twice: no task run has a state stored twice.
      const repeated = await sql<{ n: number }>`select count(*)::int as n from (select task_run_id, name from states where flow_run_id = ${run.id} and task_run_id is not null group by 1, 2 having count(*) > 1) d`.execute(store.db);
      expect(repeated.rows[0]!.n).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("a worker started while the server is down waits for it, and hears of new runs after a restart", async () => {
    const { store, log, env } = await setUp("workers");
    const orchestration = new KyselyOrchestrationStore(store);
    let worker: ReturnType<typeof startProcess> | null = null;
    try {
      await orchestration.upsertWorkPool({ name: "chaos", type: "process" });
      const deployment = await orchestration.upsertDeployment({ name: "quick", flowName: "restartQuick", entrypoint: `${FLOWS}:restartQuick`, workPool: "chaos" });
      const createRun = () =>
        store.createFlowRun({
          id: newId(), flowName: "restartQuick", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
          entrypoint: deployment.entrypoint, deploymentId: deployment.id, workPool: "chaos", workQueue: deployment.workQueue, state: makeState("Scheduled", { scheduledAt: Date.now() }),
        });
      const first = await createRun();

      await cluster.stop();
      // Polls once a minute: a run it picks up sooner was announced by NOTIFY.
      worker = startProcess([BIN, "worker", "start", "--pool", "chaos", "--poll-ms", "60000", "--heartbeat-ms", "500"], env);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(worker.child.exitCode, worker.stderr()).toBeNull();
      await cluster.start();
      await untilSeen(worker, async () => (await store.getFlowRun(first.id))?.state.type === "COMPLETED", "the first run to complete");

      await cluster.restart();
      // After a restart every backend is new: a LISTEN among them is the worker's, re-established.
      await untilSeen(worker, async () => {
        const listening = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query = 'listen baton_runs'`.execute(store.db);
        return listening.rows[0]!.n > 0;
      }, "the worker to LISTEN again");
      const second = await createRun();
      await untilSeen(worker, async () => (await store.getFlowRun(second.id))?.state.type === "COMPLETED", "the second run to complete");
      expect(lines(log).sort()).toEqual([`run ${first.id}`, `run ${second.id}`].sort());
      expect(worker.child.exitCode, worker.stderr()).toBeNull();
      expect(worker.stdout()).not.toMatch(/could not record the end of flow run/);
    } finally {
      worker?.child.kill("SIGTERM");
      await worker?.exit;
      await store.close();
    }
  });

  it("a run whose database stays away longer than BATON_DATABASE_RETRY_MS ends with one clear line", async () => {
    const { store, log, env } = await setUp("outage");
    await store.close();
    try {
      const proc = startProcess([BIN, "run", FLOWS, "--flow", "restartFanout"], { ...env, BATON_DATABASE_RETRY_MS: "1500" });
      await untilSeen(proc, () => lines(log).length >= 30, "30 tasks to run");
      await cluster.stop();
      const stopped = Date.now();
      const code = await proc.exit;
      expect(code).toBe(1);
      expect(Date.now() - stopped).toBeLessThan(15_000);
      const stderr = proc.stderr();
      expect(stderr).not.toMatch(/\n\s+at |Unhandled|uncaught/i);
      const verdicts = stderr.split("\n").filter((line) => line.startsWith("baton: "));
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]).toMatch(/^baton: the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/outage was unreachable for \d+\.\d s \(BATON_DATABASE_RETRY_MS\): /);
    } finally {
      await cluster.start().catch(() => undefined); // not stopped if the test failed first
    }
  });
});
