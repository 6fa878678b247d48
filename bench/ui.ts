/**
 * Dashboard: time to first render of a large flow run in Debian's Chromium (headless), server in
 * its own process over SQLite. Two runs are seeded:
 *   - "map": 10,000 mapped task runs feeding one reduce (the graph groups them into 2 nodes);
 *   - "dag": 3,000 task runs of 600 distinct tasks, each depending on the one before and one
 *     seven back (the graph is capped and grouped by task name).
 * Each is opened cold (a new browser context: no cache, no connection) and warm (reloads in
 * one context), five times each (--loads N). Measured from navigation start: the task table on screen,
 * and the task graph on screen (laid out in a Web Worker). The cold loads also report where the
 * time goes (the page's script, the task-run list's size and time) and the longest main-thread
 * task (responsiveness). Usage: tsx bench/ui.ts [--tasks N] [--loads N]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { openStore } from "../src/store/open.ts";
import type { Store, TaskRun, WriteOp } from "../src/store/types.ts";
import { opt, startServerProcess } from "./support.ts";

const TASKS = Number(opt("tasks", "10000"));
const DAG_TASKS = 3000;
const LOADS = Number(opt("loads", "5"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-ui-"));
const url = `sqlite://${path.join(dir, "ui.db")}`;
const store = await openStore(url);

async function seed(store: Store, flowName: string, build: (task: (key: string, name: string, i: number) => TaskRun) => WriteOp[]): Promise<string> {
  const run = await store.createFlowRun({ id: newId(), flowName, name: `${flowName}-run`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
  await store.setFlowRunState(run.id, makeState("Running"));
  const now = Date.now();
  const task = (key: string, name: string, i: number): TaskRun => {
    const state = makeState(i % 97 === 0 ? "Failed" : "Completed", { timestamp: now + i });
    return { id: newId(), flowRunId: run.id, taskKey: key, taskName: name, state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now, startTime: now + i, endTime: now + i + 5 };
  };
  await store.applyWrites(build(task));
  await store.setFlowRunState(run.id, makeState("Completed"));
  return run.id;
}

const mapRun = await seed(store, "wide", (task) => {
  const ops: WriteOp[] = [];
  const reduce = task("reduce-0", "reduce", 1);
  for (let i = 0; i < TASKS; i++) {
    const t = task(`fit-${i}`, "fit", i + 1);
    ops.push({ kind: "taskRun", taskRun: t }, { kind: "dependency", dependency: { taskRunId: reduce.id, upstreamTaskRunId: t.id, kind: "data" } });
  }
  ops.push({ kind: "taskRun", taskRun: reduce });
  return ops;
});
const dagRun = await seed(store, "tangled", (task) => {
  const ops: WriteOp[] = [];
  const runs: TaskRun[] = [];
  for (let i = 0; i < DAG_TASKS; i++) {
    const t = task(`step${i % 600}-${Math.floor(i / 600)}`, `step${i % 600}`, i);
    runs.push(t);
    ops.push({ kind: "taskRun", taskRun: t });
    for (const back of [1, 7]) if (i >= back) ops.push({ kind: "dependency", dependency: { taskRunId: t.id, upstreamTaskRunId: runs[i - back]!.id, kind: "data" } });
  }
  return ops;
});
await store.close();

const server = await startServerProcess(url);
const browser: Browser = await chromium.launch({ executablePath: process.env.BATON_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });

interface Load {
  table: number;
  graph: number;
  nodes: number;
  longestTask: number;
  script: { bytes: number; ms: number };
  list: { bytes: number; ms: number };
}

/** Opens a run page in `context` and measures it. */
async function load(context: BrowserContext, runId: string): Promise<Load> {
  const page = await context.newPage();
  await page.addInitScript(`window.longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.longest = Math.max(window.longest, e.duration);
    }).observe({ type: "longtask", buffered: true });`);
  const started = Date.now();
  await page.goto(`${server.address}/runs/${runId}`, { waitUntil: "commit" });
  await page.locator(".task-row[data-task]").first().waitFor({ timeout: 60_000 });
  const table = Date.now() - started;
  await page.locator("g[data-node]").first().waitFor({ timeout: 60_000 });
  const graph = Date.now() - started;
  const nodes = await page.locator("g[data-node]").count();
  const timings = (await page.evaluate(`({
    longest: window.longest,
    resources: performance.getEntriesByType("resource").map((e) => ({ name: e.name, bytes: e.encodedBodySize || e.transferSize, ms: e.responseEnd - e.startTime })),
  })`)) as { longest: number; resources: { name: string; bytes: number; ms: number }[] };
  const script = timings.resources.filter((r) => /\/assets\/index-[^/]+\.js$/.test(r.name));
  const list = timings.resources.find((r) => r.name.endsWith(`/api/flow-runs/${runId}/task-table`));
  await page.close();
  return {
    table,
    graph,
    nodes,
    longestTask: timings.longest,
    script: { bytes: script.reduce((a, s) => a + s.bytes, 0), ms: Math.max(0, ...script.map((s) => s.ms)) },
    list: { bytes: list?.bytes ?? 0, ms: list?.ms ?? 0 },
  };
}

/** "median (min–max) ms" of a few loads: this machine is shared, single loads are noisy. */
const range = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b).map(Math.round);
  return `${sorted[Math.floor(sorted.length / 2)]} ms (${sorted[0]}–${sorted.at(-1)})`;
};
const kb = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString("en")} KB`;

/** The median time of three GETs of `p` from Node (no browser), and the body's size. */
async function getAlone(p: string): Promise<string> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    bytes = (await (await fetch(`${server.address}${p}`)).arrayBuffer()).byteLength;
    times.push(performance.now() - started);
  }
  return `${Math.round(times.sort((a, b) => a - b)[1]!)} ms (${kb(bytes)})`;
}
const alone = [
  ["GET .../task-table (the page's compact columns)", await getAlone(`/api/flow-runs/${mapRun}/task-table`)],
  ["GET .../task-runs (full task runs and dependencies)", await getAlone(`/api/flow-runs/${mapRun}/task-runs`)],
];

const summary = new Table({ head: ["run", "load", "task table on screen", "graph on screen", "graph nodes", "longest main-thread task"], style: { head: [], border: [] } });
const where = new Table({ head: ["run (cold)", "page script (transferred, fetch)", "task-run list (transferred, fetch)"], style: { head: [], border: [] } });
try {
  for (const [label, runId] of [
    [`map: ${TASKS.toLocaleString("en")} mapped task runs`, mapRun],
    [`dag: ${DAG_TASKS.toLocaleString("en")} task runs, 600 tasks`, dagRun],
  ] as const) {
    const cold: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      cold.push(await load(context, runId));
      await context.close();
    }
    const warm: Load[] = [];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await load(context, runId); // fills the cache
    for (let i = 0; i < LOADS; i++) warm.push(await load(context, runId));
    await context.close();
    for (const [kind, loads] of [
      ["cold (new context, empty cache)", cold],
      ["warm (cached script)", warm],
    ] as const)
      summary.push([label, kind, range(loads.map((l) => l.table)), range(loads.map((l) => l.graph)), String(loads[0]!.nodes), range(loads.map((l) => l.longestTask))]);
    where.push([label, `${kb(cold[0]!.script.bytes)}, ${range(cold.map((l) => l.script.ms))}`, `${kb(cold[0]!.list.bytes)}, ${range(cold.map((l) => l.list.ms))}`]);
  }
} finally {
  await browser.close();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log("\nDashboard: time to first render of a large flow run (Chromium, headless; server over SQLite in its own process)");
console.log(summary.toString());
console.log(where.toString());
for (const [what, value] of alone) console.log(`${what}, map run, from Node: ${value}`);
