/**
 * Workers behind a server with API keys, on SQLite and PostgreSQL: the workers and their runs'
 * processes use a worker key, people an admin key. Two remote `baton worker start` processes
 * run 200 runs made through the API each exactly once; the server's scheduler feeds a remote
 * worker; a remote worker's run is cancelled through the API; a worker key cannot make workers
 * run code through job variables.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, ApiRequestError } from "../../src/client/api-client.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import type { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { DeploymentSchema } from "../../src/schemas/deployment.ts";
import { FlowRunSchema } from "../../src/schemas/flow-run.ts";
import { e2eDialects } from "../support/databases.ts";
import { startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase, FLOWS, startWorkerProcess } from "./worker-harness.ts";

describe.each(e2eDialects("sqlite"))("workers on %s", (dialect) => {
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
    const ADMIN_KEY = "e2e-admin-key";
    const WORKER_KEY = "e2e-worker-key";
    let server: { proc: Proc; url: string } | undefined;
    let api: ApiClient;
    /** A worker's environment: the server, with the worker key (its runs' processes get it too). */
    const remote = (extra: Record<string, string> = {}) => ({ BATON_API_URL: server!.url, BATON_API_KEY: WORKER_KEY, ...extra });

    beforeAll(async () => {
      // Made before the server starts: the first pass of its scheduler turns it into runs.
      await orchestration.upsertWorkPool({ name: "srv-cron" });
      await deploy("srv-every-second", "quick", { workPool: "srv-cron", schedules: [{ spec: { kind: "cron", cron: "* * * * * *" } }] });
      server = await startServerProcess({ BATON_DATABASE_URL: url, BATON_SERVER_API_KEYS: `admin:${ADMIN_KEY},worker:${WORKER_KEY}` });
      api = new ApiClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
    });
    afterAll(async () => {
      if (server) await stopProcess(server.proc);
    });

    it("two remote worker processes: 200 runs created through the API, each run exactly once", async () => {
      await api.request("POST", "/api/work-pools", { name: "srv-shared" });
      await api.request("POST", "/api/work-pools/srv-shared/queues", { name: "default", concurrencyLimit: 6 });
      const d = await api.request("POST", "/api/deployments", { name: "srv-quick", flowName: "quick", entrypoint: `${FLOWS}:quick`, workPool: "srv-shared" }, DeploymentSchema);
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
      const run = await api.request("POST", "/api/deployments/srv-long/runs", { parameters: { stages: 100, ms: 100 } }, FlowRunSchema);
      const worker = startWorkerProcess(url, "srv-cancel", remote({ BATON_HEARTBEAT_MS: "30000" }));
      await until(async () => (await api.request("GET", `/api/flow-runs/${run.id}`, undefined, FlowRunSchema)).state.name === "Running", "the run to start", 20_000);
      expect((await api.request("POST", `/api/flow-runs/${run.id}/cancel`, undefined, FlowRunSchema)).state.name).toBe("Cancelling");
      await until(async () => (await api.request("GET", `/api/flow-runs/${run.id}`, undefined, FlowRunSchema)).state.name === "Cancelled", "the run to end Cancelled", 10_000);
      expect((await store.listTaskRuns(run.id)).length).toBeLessThan(100);
      worker.child.kill("SIGTERM");
      await worker.exit;
    });

    it("refuses a worker key job variables (a NODE_OPTIONS that runs code in every run's process): workers run nothing of it", async () => {
      const marker = path.join(dir, `pwned-${dialect}`);
      const payload = { env: { NODE_OPTIONS: `--import=data:text/javascript,import{writeFileSync}from"node:fs";writeFileSync(${JSON.stringify(marker)},"")` } };
      await api.request("POST", "/api/work-pools", { name: "srv-jv" });
      const d = await api.request("POST", "/api/deployments", { name: "srv-jv", flowName: "quick", entrypoint: `${FLOWS}:quick`, workPool: "srv-jv" }, DeploymentSchema);
      const asWorker = new ApiClient({ baseUrl: server!.url, apiKey: WORKER_KEY });
      const refused = async (path: string, body: unknown) => {
        const error = await asWorker.request("POST", path, body).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ApiRequestError);
        expect((error as ApiRequestError).status).toBe(403);
        return (error as ApiRequestError).message;
      };
      expect(await refused("/api/deployments/srv-jv/runs", { jobVariables: payload })).toMatch(/needs an admin, developer or operator API key/);
      expect(await refused("/api/flow-runs", { flowName: "quick", entrypoint: `${FLOWS}:quick`, deploymentId: d.id, workPool: "srv-jv", jobVariables: payload })).toMatch(/body\.jobVariables: only an admin/);
      asWorker.close();
      // A real worker (runs in child processes, which NODE_OPTIONS would reach) runs the pool's one legitimate run.
      const worker = startWorkerProcess(url, "srv-jv", remote());
      const run = await api.request("POST", "/api/deployments/srv-jv/runs", { parameters: { n: 1 } }, FlowRunSchema);
      await until(async () => (await api.request("GET", `/api/flow-runs/${run.id}`, undefined, FlowRunSchema)).state.name === "Completed", "the legitimate run", 30_000);
      worker.child.kill("SIGTERM");
      await worker.exit;
      expect((await store.listFlowRuns({ deploymentId: d.id })).map((r) => r.id)).toEqual([run.id]);
      expect(fs.existsSync(marker)).toBe(false);
    });
  });
});
