/**
 * API throughput: listing runs (GET /api/flow-runs?limit=50 with 100,000 runs in the store,
 * driven by autocannon) and the batch endpoint (task-run transitions per second), against a
 * server in its own process, on SQLite and PostgreSQL.
 * Usage: tsx bench/api.ts [--only sqlite|postgres] [--runs N] [--seconds S]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import Table from "cli-table3";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { openStore } from "../src/store/open.ts";
import { benchPgDatabase, fmt, opt, startServerProcess } from "./support.ts";

const RUNS = Number(opt("runs", "100000"));
const SECONDS = Number(opt("seconds", "8"));
const only = opt("only", "");
const rows: string[][] = [];

async function seed(url: string): Promise<string> {
  const store = await openStore(url);
  const flow = await store.upsertFlow({ name: "bench-flow" });
  const now = Date.now();
  // Finished runs only: seeded "Running" runs without heartbeats would (rightly) keep the
  // server's crash detector busy marking them Crashed during the measurement.
  const states = ["Completed", "Completed", "Completed", "Failed", "Cancelled", "Crashed"] as const;
  for (let i = 0; i < RUNS; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(RUNS, i + 1000); j++) {
      const state = makeState(states[j % states.length]!, { timestamp: now - (RUNS - j) * 1000 });
      batch.push({
        id: newId(), flow_id: flow.id, name: `run-${j}`, parent_flow_run_id: null, parent_task_run_id: null,
        state_type: state.type, state_name: state.name, state_message: null, state_timestamp: state.timestamp, scheduled_at: null,
        parameters: JSON.stringify({ j }), tags: JSON.stringify(j % 2 ? ["odd"] : ["even"]), run_count: 1, created_at: state.timestamp,
        start_time: state.timestamp, end_time: state.timestamp + 500, heartbeat_at: null, heartbeat_ms: null, result_id: null, error: null,
        version: null, entrypoint: null,
      });
    }
    await store.db.insertInto("flow_runs").values(batch).execute();
  }
  const target = await store.createFlowRun({
    id: newId(), flowName: "bench-flow", name: "batch-target", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending"),
  });
  await store.setFlowRunState(target.id, makeState("Running"));
  await store.close();
  return target.id;
}

async function cannon(url: string, label: string, dialect: string): Promise<void> {
  const result = await autocannon({ url, connections: 10, duration: SECONDS });
  if (result.non2xx) throw new Error(`${label}: ${result.non2xx} non-2xx answers`);
  rows.push([dialect, label, fmt(result.requests.average), `${result.latency.p50} ms`, `${result.latency.p99} ms`]);
}

/** Transitions per second through POST /api/batch: 500 new task runs x 3 states per request. */
async function batchThroughput(address: string, flowRunId: string, dialect: string): Promise<void> {
  const perRequest = 500;
  const requests = 40;
  let transitions = 0;
  const started = performance.now();
  for (let r = 0; r < requests; r++) {
    const ops: unknown[] = [];
    for (let i = 0; i < perRequest; i++) {
      const id = newId();
      const base = { id, flowRunId, taskKey: `t-${r}-${i}`, taskName: "t", runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: Date.now(), startTime: Date.now(), endTime: null };
      const t0 = Date.now();
      for (const [k, name] of (["Pending", "Running", "Completed"] as const).entries()) {
        const state = makeState(name, { timestamp: t0 + k });
        ops.push({ kind: "taskRun", taskRun: { ...base, state } }, { kind: "state", state: { ...state, flowRunId, taskRunId: id } });
        transitions++;
      }
    }
    const response = await fetch(`${address}/api/batch`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batchId: newId(), ops }) });
    if (!response.ok) throw new Error(`batch: HTTP ${response.status} ${await response.text()}`);
  }
  const seconds = (performance.now() - started) / 1000;
  rows.push([dialect, `POST /api/batch (${perRequest * 3} transitions per request)`, `${fmt(transitions / seconds)} transitions/s`, `${fmt((seconds * 1000) / requests)} ms / request`, "-"]);
}

async function run(dialect: string, url: string): Promise<void> {
  const seedStart = performance.now();
  const flowRunId = await seed(url);
  console.error(`${dialect}: seeded ${RUNS.toLocaleString("en")} runs in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  const server = await startServerProcess(url);
  try {
    await cannon(`${server.address}/api/flow-runs?limit=50`, "GET /api/flow-runs?limit=50", dialect);
    await cannon(`${server.address}/api/flow-runs?limit=50&state=Failed`, "GET /api/flow-runs?limit=50&state=Failed", dialect);
    await batchThroughput(server.address, flowRunId, dialect);
  } finally {
    await server.stop();
  }
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-api-"));
if (!only || only === "sqlite") await run("sqlite", `sqlite://${path.join(home, "api.db")}`);
if (!only || only === "postgres") {
  const db = await benchPgDatabase("api");
  try {
    await run("postgres", db.url);
  } finally {
    await db.drop();
  }
}
const out = new Table({ head: ["store", `request (${RUNS.toLocaleString("en")} runs stored)`, "requests/s", "p50", "p99"], style: { head: [], border: [] } });
out.push(...rows);
console.log(`\nAPI throughput (autocannon, 10 connections, ${SECONDS} s each; server in its own process)`);
console.log(out.toString());
fs.rmSync(home, { recursive: true, force: true });
