/**
 * Dashboard: time to first render in Debian's Chromium (headless), server in its own process.
 *
 * Run pages (the default): three runs are seeded in a fresh store per dialect (`--only sqlite`,
 * the default, `postgres` or `both`):
 *   - "map": 10,000 mapped task runs feeding one reduce (the graph groups them into 2 nodes);
 *   - "map100k": the same with 100,000 mapped task runs (`--big N`; 0 leaves it out);
 *   - "dag": 3,000 task runs of 600 distinct tasks, each depending on the one before and one
 *     seven back (the graph is capped and grouped by task name).
 * Each is opened cold (a new browser context: no cache, no connection) and warm (reloads in
 * one context), five times each (--loads N). Measured from navigation start: the task table on
 * screen, and the task graph on screen (laid out in a Web Worker). The cold loads also report
 * where the time goes (the page's script, the task table's size and time) and the longest
 * main-thread task (responsiveness).
 *
 * First render of an existing store (`--db URL`, e.g. one filled by bench/seed-large.ts): the
 * dashboard (/dashboard) and the flow-runs list (/), cold and warm, time until their content
 * is on screen; nothing is seeded and the store is not changed (it is migrated if it needs to
 * be, as the server does on start).
 *
 * Usage: tsx bench/ui.ts [--tasks N] [--big N] [--loads N] [--only sqlite|postgres|both]
 *        tsx bench/ui.ts --db sqlite:///path/baton.db|postgres://… [--loads N]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { sql } from "kysely";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { parseDatabaseUrl } from "../src/store/dialect.ts";
import { openStore } from "../src/store/open.ts";
import type { Store, TaskRun, WriteOp } from "../src/store/types.ts";
import { benchPgDatabase, opt, startServerProcess } from "./support.ts";

const TASKS = Number(opt("tasks", "10000"));
const BIG = Number(opt("big", "100000"));
const DAG_TASKS = 3000;
const LOADS = Number(opt("loads", "5"));
const ONLY = opt("only", "sqlite");
const DB = opt("db", "");
if (!["sqlite", "postgres", "both"].includes(ONLY)) throw new Error(`--only must be sqlite, postgres or both, not "${ONLY}"`);
for (const [name, value] of [["tasks", TASKS], ["big", BIG], ["loads", LOADS]] as const)
  if (!Number.isInteger(value) || value < (name === "big" ? 0 : 1)) throw new Error(`--${name} must be a whole number${name === "big" ? "" : " above 0"}, not "${opt(name, "")}"`);

/** "median (min–max) ms" of a few loads: this machine is shared, single loads are noisy. */
const range = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b).map(Math.round);
  return `${sorted[Math.floor(sorted.length / 2)]!.toLocaleString("en")} ms (${sorted[0]!.toLocaleString("en")}–${sorted.at(-1)!.toLocaleString("en")})`;
};
const kb = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString("en")} KB`;
const launch = () => chromium.launch({ executablePath: process.env.BATON_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const newContext = (browser: Browser) => browser.newContext({ viewport: { width: 1280, height: 900 } });

/** Opens `p` LOADS times cold (a context each) and LOADS times warm (one context, after a first load). */
async function coldAndWarm<T>(browser: Browser, open: (context: BrowserContext) => Promise<T>): Promise<{ cold: T[]; warm: T[] }> {
  const cold: T[] = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await newContext(browser);
    cold.push(await open(context));
    await context.close();
  }
  const warm: T[] = [];
  const context = await newContext(browser);
  await open(context); // fills the cache
  for (let i = 0; i < LOADS; i++) warm.push(await open(context));
  await context.close();
  return { cold, warm };
}

// ---------------------------------------------------------------------------------------------
// Run pages.

async function seed(store: Store, flowName: string, build: (task: (key: string, name: string, i: number) => TaskRun) => WriteOp[]): Promise<string> {
  const run = await store.createFlowRun({ id: newId(), flowName, name: `${flowName}-run`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
  await store.setFlowRunState(run.id, makeState("Running"));
  const now = Date.now();
  const task = (key: string, name: string, i: number): TaskRun => {
    const state = makeState(i % 97 === 0 ? "Failed" : "Completed", { timestamp: now + i });
    return { id: newId(), flowRunId: run.id, taskKey: key, taskName: name, state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now, startTime: now + i, endTime: now + i + 5 };
  };
  const ops = build(task);
  // In slices, as the engine writes them: one transaction of 200,000 rows is not what a store sees.
  for (let i = 0; i < ops.length; i += 20_000) await store.applyWrites(ops.slice(i, i + 20_000));
  await store.setFlowRunState(run.id, makeState("Completed"));
  return run.id;
}

function mapOps(count: number) {
  return (task: (key: string, name: string, i: number) => TaskRun): WriteOp[] => {
    const reduce = task("reduce-0", "reduce", 1);
    const ops: WriteOp[] = [{ kind: "taskRun", taskRun: reduce }];
    for (let i = 0; i < count; i++) {
      const t = task(`fit-${i}`, "fit", i + 1);
      ops.push({ kind: "taskRun", taskRun: t }, { kind: "dependency", dependency: { taskRunId: reduce.id, upstreamTaskRunId: t.id, kind: "data" } });
    }
    return ops;
  };
}

function dagOps(task: (key: string, name: string, i: number) => TaskRun): WriteOp[] {
  const ops: WriteOp[] = [];
  const runs: TaskRun[] = [];
  for (let i = 0; i < DAG_TASKS; i++) {
    const t = task(`step${i % 600}-${Math.floor(i / 600)}`, `step${i % 600}`, i);
    runs.push(t);
    ops.push({ kind: "taskRun", taskRun: t });
    for (const back of [1, 7]) if (i >= back) ops.push({ kind: "dependency", dependency: { taskRunId: t.id, upstreamTaskRunId: runs[i - back]!.id, kind: "data" } });
  }
  return ops;
}

interface Load {
  table: number;
  graph: number;
  nodes: number;
  rows: number;
  longestTask: number;
  script: { bytes: number; ms: number };
  list: { bytes: number; ms: number };
}

/** Opens a run page in `context` and measures it. */
async function loadRun(context: BrowserContext, address: string, runId: string): Promise<Load> {
  const page = await context.newPage();
  await page.addInitScript(`window.longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.longest = Math.max(window.longest, e.duration);
    }).observe({ type: "longtask", buffered: true });`);
  const started = Date.now();
  await page.goto(`${address}/runs/${runId}`, { waitUntil: "commit" });
  await page.locator(".task-row[data-task]").first().waitFor({ timeout: 60_000 });
  const table = Date.now() - started;
  await page.locator("g[data-node]").first().waitFor({ timeout: 60_000 });
  const graph = Date.now() - started;
  const nodes = await page.locator("g[data-node]").count();
  // Every task run is in the table: the virtualised list's row count, not a sample.
  const rows = Number(await page.locator("[data-testid=task-runs] .virtual").getAttribute("data-rows"));
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
    rows,
    longestTask: timings.longest,
    script: { bytes: script.reduce((a, s) => a + s.bytes, 0), ms: Math.max(0, ...script.map((s) => s.ms)) },
    list: { bytes: list?.bytes ?? 0, ms: list?.ms ?? 0 },
  };
}

/** The median time of three GETs of `p` from Node (no browser), and the body's size. */
async function getAlone(address: string, p: string): Promise<string> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    bytes = (await (await fetch(`${address}${p}`, { headers: { "accept-encoding": "identity" } })).arrayBuffer()).byteLength;
    times.push(performance.now() - started);
  }
  return `${Math.round(times.sort((a, b) => a - b)[1]!)} ms (${kb(bytes)})`;
}

async function runPages(dialect: "sqlite" | "postgres"): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-ui-"));
  const pg = dialect === "postgres" ? await benchPgDatabase("ui") : null;
  const url = pg ? pg.url : `sqlite://${path.join(dir, "ui.db")}`;
  const store = await openStore(url);
  const runs: [string, string][] = [[`map: ${TASKS.toLocaleString("en")} mapped task runs`, await seed(store, "wide", mapOps(TASKS))]];
  if (BIG > 0) runs.push([`map: ${BIG.toLocaleString("en")} mapped task runs`, await seed(store, "wider", mapOps(BIG))]);
  runs.push([`dag: ${DAG_TASKS.toLocaleString("en")} task runs, 600 tasks`, await seed(store, "tangled", dagOps)]);
  await store.close();

  const server = await startServerProcess(url);
  const browser = await launch();
  const summary = new Table({ head: ["run", "load", "task table on screen", "graph on screen", "graph nodes", "rows in the table", "longest main-thread task"], style: { head: [], border: [] } });
  const where = new Table({ head: ["run (cold)", "page script (transferred, fetch)", "task table (transferred, fetch)"], style: { head: [], border: [] } });
  const alone: string[] = [];
  try {
    for (const [label, runId] of runs) {
      const { cold, warm } = await coldAndWarm(browser, (context) => loadRun(context, server.address, runId));
      for (const [kind, loads] of [
        ["cold (new context, empty cache)", cold],
        ["warm (cached script)", warm],
      ] as const)
        summary.push([label, kind, range(loads.map((l) => l.table)), range(loads.map((l) => l.graph)), String(loads[0]!.nodes), loads[0]!.rows.toLocaleString("en"), range(loads.map((l) => l.longestTask))]);
      where.push([label, `${kb(cold[0]!.script.bytes)}, ${range(cold.map((l) => l.script.ms))}`, `${kb(cold[0]!.list.bytes)}, ${range(cold.map((l) => l.list.ms))}`]);
      if (label.startsWith("map")) alone.push(`GET .../task-table, ${label}, from Node (uncompressed): ${await getAlone(server.address, `/api/flow-runs/${runId}/task-table`)}`);
    }
  } finally {
    await browser.close();
    await server.stop();
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nDashboard: time to first render of a large flow run (Chromium, headless; server over ${dialect === "sqlite" ? "SQLite" : "PostgreSQL"} in its own process; load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(summary.toString());
  console.log(where.toString());
  for (const line of alone) console.log(line);
}

// ---------------------------------------------------------------------------------------------
// First render of an existing store.

/** The pages measured, and what on each says its content is on screen (or that there is none). */
const FIRST_PAGES = [
  ["dashboard (/dashboard)", "/dashboard", "[data-testid=flows], [data-testid=dashboard-empty]"],
  ["flow-runs list (/)", "/", "[data-testid=runs] tr[data-run], [data-testid=runs-empty]"],
  ["flow-runs list, failed (/?stateType=FAILED)", "/?stateType=FAILED", "[data-testid=runs] tr[data-run], [data-testid=runs-empty]"],
] as const;

async function firstRender(url: string): Promise<void> {
  const store = await openStore(url);
  const runs = Number((await store.db.selectFrom("flow_runs").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n);
  await store.close();
  const server = await startServerProcess(url);
  const browser = await launch();
  const summary = new Table({ head: ["page", "load", "content on screen", "longest main-thread task"], style: { head: [], border: [] } });
  try {
    for (const [label, p, ready] of FIRST_PAGES) {
      const open = async (context: BrowserContext) => {
        const page = await context.newPage();
        await page.addInitScript(`window.longest = 0;
          new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longest = Math.max(window.longest, e.duration); }).observe({ type: "longtask", buffered: true });`);
        const started = Date.now();
        await page.goto(`${server.address}${p}`, { waitUntil: "commit" });
        await page.locator(ready).first().waitFor({ timeout: 120_000 });
        const ms = Date.now() - started;
        const longest = (await page.evaluate("window.longest")) as number;
        await page.close();
        return { ms, longest };
      };
      const { cold, warm } = await coldAndWarm(browser, open);
      summary.push([label, "cold", range(cold.map((l) => l.ms)), range(cold.map((l) => l.longest))]);
      summary.push([label, "warm", range(warm.map((l) => l.ms)), range(warm.map((l) => l.longest))]);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(`\nDashboard: first render of an existing store (${runs.toLocaleString("en")} flow runs on ${parseDatabaseUrl(url).dialect === "sqlite" ? "SQLite" : "PostgreSQL"}; Chromium, headless; server in its own process; load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(summary.toString());
}

if (DB) await firstRender(DB);
else for (const dialect of ONLY === "both" ? (["sqlite", "postgres"] as const) : [ONLY as "sqlite" | "postgres"]) await runPages(dialect);
