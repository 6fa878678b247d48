/**
 * Dashboard: time to first render of a flow run with 10,000 task runs (a 10,000-way map feeding
 * one reduce), in Debian's Chromium, server in its own process over SQLite. Measured from
 * navigation start to the task graph and the task table on screen. Usage: tsx bench/ui.ts [--tasks N]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { chromium } from "playwright-core";
import { newId } from "../src/core/ids.ts";
import { makeState } from "../src/core/states.ts";
import { openStore } from "../src/store/open.ts";
import type { TaskRun, WriteOp } from "../src/store/types.ts";
import { opt, startServerProcess } from "./support.ts";

const TASKS = Number(opt("tasks", "10000"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-ui-"));
const url = `sqlite://${path.join(dir, "ui.db")}`;
const store = await openStore(url);
const run = await store.createFlowRun({ id: newId(), flowName: "wide", name: "wide-run", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
await store.setFlowRunState(run.id, makeState("Running"));
const ops: WriteOp[] = [];
const now = Date.now();
const task = (key: string, name: string, i: number): TaskRun => {
  const state = makeState(i % 97 === 0 ? "Failed" : "Completed", { timestamp: now + i });
  return { id: newId(), flowRunId: run.id, taskKey: key, taskName: name, state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now, startTime: now + i, endTime: now + i + 5 };
};
const reduce = task("reduce-0", "reduce", 1);
for (let i = 0; i < TASKS; i++) {
  const t = task(`fit-${i}`, "fit", i + 1);
  ops.push({ kind: "taskRun", taskRun: t }, { kind: "dependency", dependency: { taskRunId: reduce.id, upstreamTaskRunId: t.id, kind: "data" } });
}
ops.push({ kind: "taskRun", taskRun: reduce });
await store.applyWrites(ops);
await store.setFlowRunState(run.id, makeState("Completed"));
await store.close();

const server = await startServerProcess(url);
const browser = await chromium.launch({ executablePath: process.env.BATON_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const rows: string[][] = [];
const apiTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  const started = Date.now();
  await (await fetch(`${server.address}/api/flow-runs/${run.id}/task-runs`)).json();
  apiTimes.push(Date.now() - started);
}
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  for (const attempt of ["first (cold cache)", "second", "third"]) {
    const started = Date.now();
    await page.goto(`${server.address}/runs/${run.id}`);
    await page.locator('g[data-node="fit"]').waitFor();
    await page.locator(".task-row[data-task]").first().waitFor();
    const ms = Date.now() - started;
    const nodes = await page.locator("g[data-node]").count();
    // Virtualised: 10,000 task runs, a few dozen rows in the DOM.
    const domRows = await page.locator(".task-row[data-task]").count();
    rows.push([attempt, `${ms} ms`, String(nodes), String(domRows), await page.locator('g[data-node="fit"] .node-sub').textContent() ?? ""]);
  }
} finally {
  await browser.close();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
const out = new Table({ head: ["load", "to graph + table on screen", "graph nodes", "table rows in the DOM", "fit node"], style: { head: [], border: [] } });
out.push(...rows);
console.log(`\nDashboard: a flow run with ${TASKS.toLocaleString("en")} task runs (Chromium, headless); GET .../task-runs alone: ${apiTimes.join(" / ")} ms`);
console.log(out.toString());
