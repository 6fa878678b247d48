/**
 * Workers behind a server, on SQLite and PostgreSQL: two remote `baton worker start` processes
 * run 200 runs made through the API each exactly once; the server's scheduler feeds a remote
 * worker; a remote worker's run is cancelled through the API.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, FlowRun } from "../../src/store/types.ts";
import { DIALECTS } from "../support/databases.ts";
import { BIN, startProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase, FLOWS, startWorkerProcess } from "./worker-harness.ts";

describe.each(DIALECTS)("workers on %s", (dialect) => {
  let db: WorkerDatabase;
  let url: string;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let dir: string;
  const deploy: WorkerDatabase["deploy"] = (...args) => db.deploy(...args);
  const expectEachRunOnce: WorkerDatabase["expectEachRunOnce"] = (...args) => db.expectEachRunOnce(...args);

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    ({ url, store, orchestration, dir } = db);
  });
  afterAll(() => db.close());

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
