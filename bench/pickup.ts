/**
 * Pickup latency: a run created due now -> claimed by a worker (Pending) -> Running in its own
 * process. One worker (`baton worker start`) on a pool; runs are created one at a time, 1.5 s
 * after the previous finished (the worker's warm spare process is ready by then; the first run
 * starts cold and is left out). PostgreSQL: the worker LISTENs for due runs; SQLite: it polls
 * (every 1 s, the default). Usage: tsx bench/pickup.ts [--runs N] [--only sqlite|postgres]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { openStore } from "../src/store/open.ts";
import { KyselyOrchestrationStore } from "../src/store/orchestration-store.ts";
import { benchPgDatabase, opt } from "./support.ts";

const RUNS = Number(opt("runs", "20"));
const only = opt("only", "");
const FLOW = path.join(import.meta.dirname, "../test/e2e/fixtures/worker-flows.ts");
const rows: string[][] = [];

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function measure(label: string, url: string, pollMs: number): Promise<void> {
  const store = await openStore(url);
  const orchestration = new KyselyOrchestrationStore(store);
  await orchestration.upsertWorkPool({ name: "bench" });
  const d = await orchestration.upsertDeployment({ name: "pickup", flowName: "quick", entrypoint: `${FLOW}:quick`, workPool: "bench" });
  const worker = spawn(process.execPath, [path.join(import.meta.dirname, "../bin/baton.js"), "worker", "start", "--pool", "bench", "--poll-ms", String(pollMs)], {
    env: { ...process.env, BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "silent" },
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 2500)); // let it register and LISTEN
  const claim: number[] = [];
  const running: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    const created = makeState("Scheduled", { scheduledAt: Date.now() });
    const run = await store.createFlowRun({
      id: newId(), flowName: "quick", name: `p${i}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      entrypoint: d.entrypoint, deploymentId: d.id, workPool: "bench", workQueue: "default", state: created,
    });
    for (;;) {
      const current = (await store.getFlowRun(run.id))!;
      if (current.state.type === "COMPLETED" || current.state.type === "FAILED" || current.state.type === "CRASHED") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const history = await store.stateHistory(run.id);
    const pending = history.find((s) => s.name === "Pending");
    const started = history.find((s) => s.name === "Running");
    if (i === 0) continue; // the cold start
    if (pending) claim.push(pending.timestamp - created.timestamp);
    if (started) running.push(started.timestamp - created.timestamp);
  }
  worker.kill("SIGTERM");
  await new Promise((r) => worker.once("exit", r));
  await store.close();
  rows.push([label, `${pct(claim, 50)} ms`, `${pct(claim, 90)} ms`, `${pct(running, 50)} ms`, `${pct(running, 90)} ms`]);
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-pickup-"));
if (!only || only === "postgres") {
  const db = await benchPgDatabase("pickup");
  try {
    await measure("postgres (LISTEN/NOTIFY)", db.url, 10_000);
  } finally {
    await db.drop();
  }
}
if (!only || only === "sqlite") await measure("sqlite (poll 1 s)", `sqlite://${path.join(home, "pickup.db")}`, 1000);
const out = new Table({ head: ["store", "due -> claimed p50", "p90", "due -> Running p50", "p90"], style: { head: [], border: [] } });
out.push(...rows);
console.log(`\nPickup latency over ${RUNS} runs (Running includes starting the run's process)`);
console.log(out.toString());
fs.rmSync(home, { recursive: true, force: true });
