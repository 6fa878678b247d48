/**
 * A large store against a fresh one (issue 14): a server in its own process over each, the same
 * requests sent to both in alternation, p50/p95 of each and the ratio large/fresh (target: p50
 * within 1.5×). The requests: `GET /api/flow-runs?limit=50` with each filter the runs page
 * offers, what opening a run's page fetches (ui/src/run-data.ts, LogPanel, RunEvents,
 * RunHeader), the flow-runs home page's and the dashboard's. Then run retention deletes the
 * oldest day of the large store while a writer in its own process commits a log line per
 * transaction: the writer's max and p99 commit latency during the deletion (target ≤ 100 ms).
 *
 * Both stores are seeded by bench/seed-large.ts. The fresh one holds the same activity without
 * the history: the large store's last day (--runs / 30 runs over one day, or --fresh-runs N
 * over --fresh-days D), so the dashboard's statistics of the last 24 hours read as many runs on
 * both and the comparison measures what the history costs.
 * Usage: tsx bench/large-store.ts [--only sqlite|postgres] [--runs N] [--fresh-runs N] [--fresh-days D] [--reps N]
 *        [--large-url URL (an already seeded database of --runs runs: not seeded, not dropped)] [--keep]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import Table from "cli-table3";
import { openStore } from "../src/store/open.ts";
import { KyselyRunRetention } from "../src/store/run-retention.ts";
import { deploymentId, flowName, seedLarge } from "./seed-large.ts";
import { benchPgDatabase, fmt, opt, startServerProcess } from "./support.ts";

const RUNS = Number(opt("runs", "1000000"));
const FRESH_DAYS = Number(opt("fresh-days", "1"));
const FRESH_RUNS = Number(opt("fresh-runs", String(Math.max(1000, Math.round((RUNS * FRESH_DAYS) / 30)))));
const REPS = Number(opt("reps", "30"));
const LARGE_URL = opt("large-url", "");
const KEEP = process.argv.includes("--keep");
const only = opt("only", "");
const DAY = 86_400_000;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

interface Db {
  url: string;
  drop(): Promise<void>;
}

async function database(dialect: string, label: string): Promise<Db> {
  if (dialect === "postgres") return benchPgDatabase(`large_${label}`);
  const file = path.join(os.tmpdir(), `baton-large-${label}-${process.pid}.db`);
  return { url: `sqlite://${file}`, drop: async () => ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true })) };
}

async function getJson<T>(address: string, url: string): Promise<T> {
  const response = await fetch(`${address}/api${url}`);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface Target {
  address: string;
  run: { id: string; deploymentId: string | null };
  now: number;
}

/** A finished run of a deployment from the middle of the history: what someone opens from a list. */
async function pickRun(address: string, now: number, spanMs: number): Promise<Target["run"]> {
  const page = await getJson<{ items: { id: string; deploymentId: string | null }[] }>(address, `/flow-runs?deployment=${deploymentId(0)}&stateType=COMPLETED&until=${now - spanMs / 2}&limit=1`);
  if (!page.items[0]) throw new Error("no completed run of the first deployment in the store");
  return page.items[0];
}

/** [group, label, path of the request] for a store. */
function requests(t: Target): [string, string, string][] {
  const id = encodeURIComponent(t.run.id);
  const list = (label: string, query: string): [string, string, string] => ["list", label, `/flow-runs?limit=50${query}`];
  return [
    list("no filter", ""),
    list("state=Failed", "&state=Failed"),
    list("stateType=RUNNING (rare)", "&stateType=RUNNING"),
    list("flow (exact)", `&flow=${flowName(3)}`),
    list("flowPrefix (the runs page)", "&flowPrefix=etl"),
    list("deployment", `&deployment=${deploymentId(5)}`),
    list("tag", "&tag=team-3"),
    list("last 24 h", `&since=${t.now - DAY}`),
    list("combined", `&flowPrefix=etl&stateType=FAILED&tag=prod&since=${t.now - 7 * DAY}`),
    ["run page", "flow run", `/flow-runs/${id}`],
    ["run page", "states", `/flow-runs/${id}/states`],
    ["run page", "child runs", `/flow-runs?parent=${id}&limit=100`],
    ["run page", "artifacts", `/artifacts?flowRunId=${id}`],
    ["run page", "task table", `/flow-runs/${id}/task-table`],
    ["run page", "logs", `/logs?flowRunId=${id}&limit=5000`],
    ["run page", "events", `/events?involves=${id}&limit=50`],
    ["run page", "deployment", `/deployments/${encodeURIComponent(t.run.deploymentId ?? "")}`],
    ["home", "session", "/session"],
    ["home", "deployments", "/deployments"],
    ["home", "flow runs", "/flow-runs?limit=50"],
    ["dashboard", "stats (24 h)", "/stats?hours=24"],
  ];
}

async function timed(address: string, url: string): Promise<number> {
  const t0 = performance.now();
  await getJson(address, url);
  return performance.now() - t0;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** Each request REPS times on each store, alternating; a page's requests also all at once, as the browser sends them. */
async function compare(dialect: string, fresh: Target, large: Target, table: Table.Table): Promise<void> {
  const a = requests(fresh);
  const b = requests(large);
  const samples = new Map<string, { fresh: number[]; large: number[] }>();
  const add = (key: string, side: "fresh" | "large", ms: number) => {
    const entry = samples.get(key) ?? { fresh: [], large: [] };
    entry[side].push(ms);
    samples.set(key, entry);
  };
  for (let rep = -2; rep < REPS; rep++) {
    for (let k = 0; k < a.length; k++)
      for (const [side, target, list] of rep % 2 ? ([["fresh", fresh, a], ["large", large, b]] as const) : ([["large", large, b], ["fresh", fresh, a]] as const)) {
        const ms = await timed(target.address, list[k]![2]);
        if (rep >= 0) add(`${list[k]![0]}|${list[k]![1]}`, side, ms);
      }
    for (const group of ["run page", "home"])
      for (const [side, target, list] of [["fresh", fresh, a], ["large", large, b]] as const) {
        const t0 = performance.now();
        await Promise.all(list.filter((r) => r[0] === group).map((r) => getJson(target.address, r[2])));
        if (rep >= 0) add(`${group}|all at once`, side, performance.now() - t0);
      }
  }
  for (const [key, s] of samples) {
    const [group, label] = key.split("|");
    const p50 = [quantile(s.fresh, 0.5), quantile(s.large, 0.5)];
    table.push([dialect, group!, label!, `${fmt(p50[0]!)} / ${fmt(quantile(s.fresh, 0.95))}`, `${fmt(p50[1]!)} / ${fmt(quantile(s.large, 0.95))}`, `${(p50[1]! / p50[0]!).toFixed(2)}×`]);
  }
}

/** Retention of the oldest day of `url` while a writer commits: the writer's latencies before and during. */
async function retention(dialect: string, url: string, runningRunId: string): Promise<string[]> {
  const store = await openStore(url);
  const oldest = await store.db.selectFrom("flow_runs").select((eb) => eb.fn.min("end_time").as("t")).executeTakeFirstOrThrow();
  const cutoff = Number(oldest.t) + DAY;
  const pruner = new KyselyRunRetention(store);
  const planned = await pruner.count(cutoff);
  const writer = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "large-store-writer.ts"), url, runningRunId], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: writer.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once("line", resolve));
  if ((await next()) !== "ready") throw new Error("the writer did not start");
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  const outcome = await pruner.prune(cutoff);
  const t1 = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const exited = new Promise((resolve) => writer.once("exit", resolve));
  writer.stdin!.write("stop\n");
  const samples = JSON.parse(await next()) as [number, number][];
  await exited;
  await store.close();
  const before = samples.filter(([at]) => at < t0).map(([, ms]) => ms);
  const during = samples.filter(([at]) => at >= t0 && at <= t1).map(([, ms]) => ms);
  const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), 0);
  if (outcome.flowRuns !== planned.flowRuns) throw new Error(`retention deleted ${outcome.flowRuns} runs, ${planned.flowRuns} were due`);
  return [
    dialect,
    `${outcome.flowRuns.toLocaleString("en")} runs, ${outcome.taskRuns.toLocaleString("en")} task runs`,
    `${fmt((t1 - t0) / 1000)} s (${fmt(outcome.flowRuns / ((t1 - t0) / 1000))} runs/s)`,
    `${during.length} commits: p50 ${fmt(quantile(during, 0.5))}, p99 ${fmt(quantile(during, 0.99))}, max ${fmt(max(during))} ms`,
    `p99 ${fmt(quantile(before, 0.99))}, max ${fmt(max(before))} ms`,
  ];
}

const reads = new Table({ head: ["store", "page", "request", "fresh p50 / p95 (ms)", "large p50 / p95 (ms)", "p50 large/fresh"] });
const deletes = new Table({ head: ["store", "deleted (oldest day)", "took", "writer during the deletion", "writer before"] });
console.error(`load at start: ${load()}`);
for (const dialect of only ? [only] : ["sqlite", "postgres"]) {
  const freshDb = await database(dialect, "fresh");
  const largeDb: Db = LARGE_URL ? { url: LARGE_URL, drop: async () => undefined } : await database(dialect, "large");
  try {
    const log = (line: string) => console.error(`${dialect}: ${line}`);
    await seedLarge(freshDb.url, FRESH_RUNS, { log, spanMs: FRESH_DAYS * DAY });
    if (!LARGE_URL) {
      const seeded = await seedLarge(largeDb.url, RUNS, { log });
      log(`seeded ${RUNS.toLocaleString("en")} runs in ${fmt(seeded.seconds)} s`);
    }
    const [freshServer, largeServer] = [await startServerProcess(freshDb.url), await startServerProcess(largeDb.url)];
    let running: string;
    try {
      const now = Date.now();
      const fresh: Target = { address: freshServer.address, now, run: await pickRun(freshServer.address, now, FRESH_DAYS * DAY) };
      const large: Target = { address: largeServer.address, now, run: await pickRun(largeServer.address, now, 30 * DAY) };
      await compare(dialect, fresh, large, reads);
      const page = await getJson<{ items: { id: string }[] }>(large.address, "/flow-runs?stateType=RUNNING&limit=1");
      running = page.items[0]!.id;
    } finally {
      await freshServer.stop();
      await largeServer.stop();
    }
    deletes.push(await retention(dialect, largeDb.url, running));
  } finally {
    if (!KEEP) {
      await freshDb.drop();
      await largeDb.drop();
    }
  }
}
console.log(`\nLarge store (${RUNS.toLocaleString("en")} flow runs, 10 task runs each) against a fresh one (${FRESH_RUNS.toLocaleString("en")}): ${REPS} requests each, alternating`);
console.log(reads.toString());
console.log("\nRun retention: the oldest day of the large store, a writer committing one log line per transaction in its own process");
console.log(deletes.toString());
console.error(`load at end: ${load()}`);
