/**
 * Pickup latency: a run created due now -> claimed by a worker (Pending) -> Running in its own
 * process. One worker (`baton worker start`) on a pool; runs are created one at a time, 1.5 s
 * (`--gap-ms`) after the previous finished (the worker's warm spare process is ready by then on
 * a quiet machine; under load it may not be: give it longer); the first run starts cold and is
 * left out. Two paths per store:
 *   - direct: the worker and the run creator on the database. PostgreSQL: the worker LISTENs;
 *     SQLite: it polls (every 1 s, the default);
 *   - remote: a server (`baton server start`) in its own process, the worker behind it
 *     (BATON_API_URL, claims long-polled on the server), runs created through the API.
 * Usage: tsx bench/pickup.ts [--runs N] [--gap-ms MS] [--only sqlite|postgres] [--path direct|remote]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { ApiClient } from "../src/client/api-client.ts";
import { openStore } from "../src/store/open.ts";
import { FlowRunSchema } from "../src/schemas/flow-run.ts";
import { StateHistorySchema } from "../src/schemas/state.ts";
import { KyselyOrchestrationStore } from "../src/store/orchestration-store.ts";
import type { FlowRun, StateRecord } from "../src/store/types.ts";
import { benchPgDatabase, opt, startServerProcess } from "./support.ts";

const RUNS = Number(opt("runs", "20"));
const GAP_MS = Number(opt("gap-ms", "1500"));
if (!Number.isFinite(GAP_MS) || GAP_MS < 0) throw new Error(`--gap-ms must be a number of milliseconds (0 or more), got "${opt("gap-ms", "")}"`);
const only = opt("only", "");
const onlyPath = opt("path", "");
const FLOW = path.join(import.meta.dirname, "../test/e2e/fixtures/worker-flows.ts");
const BIN = path.join(import.meta.dirname, "../bin/baton.js");
const rows: string[][] = [];

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/** What a path needs: create a due run, read a run and its history. */
interface Driver {
  createRun(i: number): Promise<string>;
  getRun(id: string): Promise<FlowRun>;
  history(id: string): Promise<StateRecord[]>;
  workerEnv: Record<string, string>;
  close(): Promise<void>;
}

async function directDriver(url: string): Promise<Driver> {
  const store = await openStore(url);
  const orchestration = new KyselyOrchestrationStore(store);
  await orchestration.upsertWorkPool({ name: "bench" });
  const d = await orchestration.upsertDeployment({ name: "pickup", flowName: "quick", entrypoint: `${FLOW}:quick`, workPool: "bench" });
  return {
    createRun: async (i) =>
      (
        await store.createFlowRun({
          id: newId(), flowName: "quick", name: `p${i}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
          entrypoint: d.entrypoint, deploymentId: d.id, workPool: "bench", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() }),
        })
      ).id,
    getRun: async (id) => (await store.getFlowRun(id))!,
    history: (id) => store.stateHistory(id),
    workerEnv: { BATON_DATABASE_URL: url },
    close: () => store.close(),
  };
}

async function remoteDriver(url: string): Promise<Driver> {
  const server = await startServerProcess(url);
  const api = new ApiClient({ baseUrl: server.address });
  await api.request("POST", "/api/work-pools", { name: "bench" });
  await api.request("POST", "/api/deployments", { name: "pickup", flowName: "quick", entrypoint: `${FLOW}:quick`, workPool: "bench" });
  return {
    createRun: async () => (await api.request("POST", "/api/deployments/pickup/runs", {}, FlowRunSchema)).id,
    getRun: (id) => api.request("GET", `/api/flow-runs/${id}`, undefined, FlowRunSchema),
    history: (id) => api.request("GET", `/api/flow-runs/${id}/states`, undefined, StateHistorySchema),
    workerEnv: { BATON_API_URL: server.address },
    close: () => server.stop(),
  };
}

async function measure(label: string, driver: Driver, pollMs: number): Promise<void> {
  const worker = spawn(process.execPath, [BIN, "worker", "start", "--pool", "bench", "--poll-ms", String(pollMs)], {
    env: { ...process.env, ...driver.workerEnv, BATON_LOG_LEVEL: "silent" },
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 2500)); // let it register, LISTEN or start its long-poll
  const claim: number[] = [];
  const running: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await new Promise((r) => setTimeout(r, GAP_MS));
    const id = await driver.createRun(i);
    for (;;) {
      const current = await driver.getRun(id);
      if (current.state.type === "COMPLETED" || current.state.type === "FAILED" || current.state.type === "CRASHED") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const history = await driver.history(id);
    const created = history[0]!;
    const pending = history.find((s) => s.name === "Pending");
    const started = history.find((s) => s.name === "Running");
    if (i === 0) continue; // the cold start
    if (pending) claim.push(pending.timestamp - created.timestamp);
    if (started) running.push(started.timestamp - created.timestamp);
  }
  worker.kill("SIGTERM");
  await new Promise((r) => worker.once("exit", r));
  await driver.close();
  rows.push([label, `${pct(claim, 50)} ms`, `${pct(claim, 95)} ms`, `${pct(running, 50)} ms`, `${pct(running, 95)} ms`]);
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-pickup-"));
const paths = (["direct", "remote"] as const).filter((p) => !onlyPath || p === onlyPath);
if (!only || only === "postgres") {
  for (const p of paths) {
    const db = await benchPgDatabase(`pickup_${p}`);
    try {
      if (p === "direct") await measure("postgres, direct (LISTEN/NOTIFY)", await directDriver(db.url), 10_000);
      else await measure("postgres, remote worker (long-poll), runs via the API", await remoteDriver(db.url), 10_000);
    } finally {
      await db.drop();
    }
  }
}
if (!only || only === "sqlite") {
  for (const p of paths) {
    const url = `sqlite://${path.join(home, `pickup-${p}.db`)}`;
    if (p === "direct") await measure("sqlite, direct (poll 1 s)", await directDriver(url), 1000);
    else await measure("sqlite, remote worker (long-poll), runs via the API", await remoteDriver(url), 1000);
  }
}
const out = new Table({ head: ["path", "due -> claimed p50", "p95", "due -> Running p50", "p95"], style: { head: [], border: [] } });
out.push(...rows);
console.log(`\nPickup latency over ${RUNS} runs, ${GAP_MS} ms apart (Running includes starting the run's process)`);
console.log(out.toString());
fs.rmSync(home, { recursive: true, force: true });
