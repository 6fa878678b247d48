/**
 * `npx tsx bench/profile.ts`: where a mapped task's time goes, in microseconds per task.
 * Runs the engine benchmark's fan-out (bench/flows.ts) under V8's sampling profiler, in this
 * process, and buckets the samples' self time by part (engine, store, driver, GC, waiting on
 * the database…). On PostgreSQL it also starts a private cluster (its own port, removed after)
 * with pg_stat_statements preloaded — never the shared one on 5432 — and prints each
 * statement's calls, server time and rows per task.
 * Options: --only sqlite|postgres, --mapped N (default 10,000), --sequential N (default 1,000;
 * 0 skips the chain), --interval µs (sampling, default 100), --functions K (also the K
 * functions with the most self time).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import pg from "pg";
import { configure, shutdown } from "../src/index.ts";
import { mapped, sequential } from "./flows.ts";
import { fmt, opt } from "./support.ts";

const MAPPED = Number(opt("mapped", "10000"));
const SEQUENTIAL = Number(opt("sequential", "1000"));
const INTERVAL = Number(opt("interval", "100"));
const FUNCTIONS = Number(opt("functions", "0"));
const only = opt("only", "");
const plain = { head: [], border: [] };

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The part of the system a frame belongs to; native frames (no url) take their caller's. */
function partOf(node: ProfileNode, parent: string | undefined): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(idle)") return "idle: waiting for the database";
  if (fn === "(program)") return "V8 and native runtime";
  if (fn === "(root)") return "V8 and native runtime";
  if (!url) return parent ? (parent.endsWith("(native)") ? parent : `${parent} (native)`) : "V8 and native runtime";
  const file = url.replace(/^file:\/\//, "");
  const src = /\/src\/(engine|store|core|sdk|schemas)\/(.+)\.ts$/.exec(file);
  if (src) return src[1] === "engine" || src[1] === "store" ? `${src[1]}: ${src[2]}` : src[1]!;
  if (/node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+)\//.test(file)) return "pg driver";
  if (file.includes("node_modules/better-sqlite3/")) return "better-sqlite3";
  if (file.includes("node_modules/kysely/")) return "kysely";
  if (file.includes("node_modules/")) return `library: ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)![1]}`;
  if (url.startsWith("node:")) return "node internals (net, streams, timers, promises)";
  return "other";
}

/** Self time per part and per function (the function keyed with its part), in µs. */
function partTimes(profile: Profile): { parts: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const part = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = part.get(id);
    if (known) return known;
    const p = parentOf.get(id);
    const value = partOf(byId.get(id)!, p === undefined ? undefined : resolve(p));
    part.set(id, value);
    return value;
  };
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, t: number) => map.set(key, (map.get(key) ?? 0) + t);
  // The profiler's own stop (Session.post) is sampled too: leave it out.
  const profiler = (id: number): boolean => {
    for (let p: number | undefined = id; p !== undefined; p = parentOf.get(p)) if (byId.get(p)!.callFrame.url === "node:inspector") return true;
    return false;
  };
  profile.samples.forEach((id, i) => {
    if (profiler(id)) return;
    const t = profile.timeDeltas[i] ?? 0;
    const { functionName, url } = byId.get(id)!.callFrame;
    add(parts, resolve(id), t);
    add(functions, `${resolve(id)} · ${functionName || "(anonymous)"}${url ? ` ${path.basename(url)}` : ""}`, t);
  });
  return { parts, functions };
}

async function profiled(fn: () => Promise<unknown>): Promise<{ profile: Profile; wallMs: number }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: INTERVAL });
  await session.post("Profiler.start");
  const start = performance.now();
  await fn();
  const wallMs = performance.now() - start;
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
  session.disconnect();
  return { profile, wallMs };
}

/** Shares of the samples, spread over the wall time (the profile's own span runs a little longer). */
function printParts(label: string, n: number, profile: Profile, wallMs: number): void {
  const { parts, functions } = partTimes(profile);
  const perTask = (map: Map<string, number>, limit: number) => {
    const sorted = [...map].sort((a, b) => b[1] - a[1]);
    const total = sorted.reduce((s, [, t]) => s + t, 0);
    return sorted.slice(0, limit).filter(([, t]) => t / total >= 0.003).map(([name, t]) => [name, ((t / total) * (wallMs * 1000)) / n, t / total] as const);
  };
  const table = new Table({ head: ["part", "µs per task", "share"], style: plain });
  for (const [name, micros, share] of perTask(parts, 40)) table.push([name, micros.toFixed(1), `${(share * 100).toFixed(1)}%`]);
  table.push(["total (wall)", ((wallMs * 1000) / n).toFixed(1), ""]);
  if (FUNCTIONS) for (const [name, micros, share] of perTask(functions, FUNCTIONS)) table.push([`  ${name}`, micros.toFixed(1), `${(share * 100).toFixed(1)}%`]);
  console.log(`\n${label}: ${n.toLocaleString("en")} tasks in ${fmt(wallMs)} ms = ${fmt(n / (wallMs / 1000))} tasks/s (sampling every ${INTERVAL} µs)`);
  console.log(table.toString());
}

/** A private PostgreSQL cluster with pg_stat_statements, owned by the postgres user. */
function privateCluster(): { url: string; stop(): void } {
  const bin = fs.readdirSync("/usr/lib/postgresql").sort().map((v) => `/usr/lib/postgresql/${v}/bin`).at(-1)!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-profile-pg-"));
  const port = 55_000 + (process.pid % 1000);
  const asPostgres = (args: string[]) => (process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", ...args]] : [args[0]!, args.slice(1)]) as [string, string[]];
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  execFileSync(...asPostgres([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]), { stdio: "ignore" });
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on`;
  execFileSync(...asPostgres([`${bin}/pg_ctl`, "-D", data, "-o", options, "-l", path.join(dir, "log"), "-w", "start"]), { stdio: "ignore" });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      execFileSync(...asPostgres([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "stop"]), { stdio: "ignore" });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function statements(url: string, n: number, label: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  const { rows } = await client.query<{ query: string; calls: string; total: number; plan: number; rows: string }>(
    `select query, calls, total_exec_time as total, total_plan_time as plan, rows from pg_stat_statements
     where dbid = (select oid from pg_database where datname = current_database()) order by total_exec_time desc limit 12`,
  );
  await client.end();
  const table = new Table({ head: ["statement", "calls", "server µs per task", "µs per call", "planning µs per call", "rows per task"], style: plain, colWidths: [70, 8, 20, 12, 12, 14], wordWrap: true });
  for (const r of rows)
    table.push([
      r.query.replace(/\s+/g, " ").slice(0, 200),
      r.calls,
      ((r.total * 1000) / n).toFixed(1),
      ((r.total * 1000) / Number(r.calls)).toFixed(1),
      ((r.plan * 1000) / Number(r.calls)).toFixed(1),
      (Number(r.rows) / n).toFixed(2),
    ]);
  console.log(`\n${label}: PostgreSQL's own time per statement (pg_stat_statements; execution, and planning apart: a commit's WAL flush is in neither)`);
  console.log(table.toString());
}

async function reset(url: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  await client.query("select pg_stat_statements_reset()");
  await client.end();
}

async function profileStore(store: "sqlite" | "postgres"): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-profile-"));
  const cluster = store === "postgres" ? privateCluster() : undefined;
  try {
    if (cluster) {
      const client = new pg.Client(cluster.url);
      await client.connect();
      await client.query("create extension if not exists pg_stat_statements");
      await client.end();
    }
    const url = cluster?.url ?? `sqlite://${path.join(home, "profile.db")}`;
    await configure({ databaseUrl: url, resultsDir: path.join(home, "results"), logLevel: "silent" });
    await mapped({ n: 500 }); // warm-up: connections, prepared statements, JIT
    await sequential({ n: 100 });
    if (cluster) await reset(cluster.url);
    const fan = await profiled(() => mapped({ n: MAPPED }));
    printParts(`${store}, mapped`, MAPPED, fan.profile, fan.wallMs);
    if (cluster) await statements(cluster.url, MAPPED, `${store}, mapped`);
    if (SEQUENTIAL > 0) {
      if (cluster) await reset(cluster.url);
      const chain = await profiled(() => sequential({ n: SEQUENTIAL }));
      printParts(`${store}, sequential`, SEQUENTIAL, chain.profile, chain.wallMs);
      if (cluster) await statements(cluster.url, SEQUENTIAL, `${store}, sequential`);
    }
    await shutdown();
  } finally {
    cluster?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

console.log(`Profile of the engine benchmark (node ${process.version}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(2)})`);
if (!only || only === "sqlite") await profileStore("sqlite");
if (!only || only === "postgres") await profileStore("postgres");
