/**
 * `npm run bench`: engine overhead with every state persisted, on SQLite and PostgreSQL.
 *   - mapped:     one flow, 10,000 trivial tasks from task.map
 *   - sequential: one flow, a chain of 1,000 trivial tasks, each awaiting the previous
 *   - empty flow: a flow with no tasks (create, run, complete)
 *   - threads:    8 CPU-bound tasks, on the event loop vs the worker-thread pool
 * Options: --only sqlite|postgres, --mapped N, --sequential N. PostgreSQL: BENCH_PG_URL
 * (default: a fresh database on postgres://postgres@127.0.0.1:5432).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { configure, flow, shutdown } from "../src/index.ts";
import { empty, mapped, sequential, time } from "./flows.ts";
import { burnAsync, burnThreads } from "./cpu-tasks.ts";
import { benchPgDatabase, fmt, opt } from "./support.ts";
import Database from "better-sqlite3";
import pg from "pg";

const MAPPED = Number(opt("mapped", "10000"));
const SEQUENTIAL = Number(opt("sequential", "1000"));
const only = opt("only", "");


const rows: string[][] = [];
const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-"));

async function benchStore(label: string, url: string): Promise<void> {
  await configure({ databaseUrl: url, resultsDir: path.join(home, "results"), logLevel: "silent" });
  await mapped({ n: 500 }); // warm-up: connections, prepared statements, JIT
  const captured = label === "postgres" ? await captureTaskStatement(() => sequential({ n: 100 })) : undefined;
  const tMapped = await time(() => mapped({ n: MAPPED }));
  rows.push([label, `mapped (${MAPPED.toLocaleString("en")} tasks)`, fmt(MAPPED / (tMapped / 1000)), fmt((tMapped * 1000) / MAPPED), fmt(tMapped)]);
  const tSeq = await time(() => sequential({ n: SEQUENTIAL }));
  rows.push([label, `sequential (${SEQUENTIAL.toLocaleString("en")} tasks)`, fmt(SEQUENTIAL / (tSeq / 1000)), fmt((tSeq * 1000) / SEQUENTIAL), fmt(tSeq)]);
  const runs = 200;
  const tEmpty = await time(async () => {
    for (let i = 0; i < runs; i++) await empty();
  });
  rows.push([label, `empty flow (x${runs})`, "-", fmt((tEmpty * 1000) / runs), fmt(tEmpty)]);
  await shutdown();
  const bare = label === "postgres" ? await bareCommitMicros(url) : bareSqliteCommitMicros(url.slice("sqlite://".length));
  rows.push([label, "reference: one bare commit (1-row insert)", "-", fmt(bare), "-"]);
  rows.push([label, "sequential task / bare commit", "-", `${((tSeq * 1000) / SEQUENTIAL / bare).toFixed(2)}x`, "-"]);
  if (captured) {
    const records = await taskRecordsMicros(url, captured);
    rows.push([label, "reference: a task's records alone (its statement, replayed)", "-", fmt(records), "-"]);
    rows.push([label, "sequential task / its records alone", "-", `${((tSeq * 1000) / SEQUENTIAL / records).toFixed(2)}x`, "-"]);
  }
}

interface CapturedQuery {
  text: string;
  values: unknown[];
}

/**
 * The statement the store sent for one task of a chain (its task run, three states and result,
 * with the batch's id), as the pg driver got it: what the database must do per sequential task.
 */
async function captureTaskStatement(run: () => Promise<unknown>): Promise<CapturedQuery> {
  const original = pg.Pool.prototype.query;
  let captured: CapturedQuery | undefined;
  // The store sends a chain's small batches as named statements through its pool.
  pg.Pool.prototype.query = function (this: pg.Pool, config: unknown, ...rest: unknown[]) {
    const q = config as Partial<CapturedQuery> | null;
    if (q && typeof q.text === "string" && q.text.includes("insert into task_runs") && q.text.includes("insert into states")) captured = { text: q.text, values: q.values ?? [] };
    return (original as (...args: unknown[]) => unknown).call(this, config, ...rest);
  } as typeof original;
  try {
    await run();
  } finally {
    pg.Pool.prototype.query = original;
  }
  if (!captured) throw new Error("bench: no task statement was captured (did the store's batch SQL change shape?)");
  return captured;
}

/**
 * The captured statement replayed from a plain client, one commit each, with new ids (all but
 * the flow run's) and a new task key: the database's own cost of a task's records, with no
 * engine around it — the floor for a sequential task on this PostgreSQL.
 */
async function taskRecordsMicros(url: string, captured: CapturedQuery): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  const flowRuns = new Set((await client.query<{ id: string }>("select id from flow_runs")).rows.map((r) => r.id));
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const taskKey = /^benchNoop-\d+$/;
  const n = 500;
  let elapsed = 0;
  for (let i = 0; i < n; i++) {
    const fresh = new Map<string, string>();
    const values = captured.values.map((v) => {
      if (typeof v !== "string") return v;
      if (taskKey.test(v)) return `benchNoop-replay-${i}`;
      if (!uuid.test(v) || flowRuns.has(v)) return v;
      let id = fresh.get(v);
      if (!id) fresh.set(v, (id = randomUUID()));
      return id;
    });
    const start = performance.now();
    await client.query({ name: "bench_task_records", text: captured.text, values });
    elapsed += performance.now() - start;
  }
  await client.end();
  return (elapsed * 1000) / n;
}

/** One fsynced 1-row commit on SQLite with Baton's settings (WAL, synchronous=FULL), same disk. */
function bareSqliteCommitMicros(file: string): number {
  const db = new Database(`${file}-bare`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("create table if not exists bench_commit (id integer primary key, v text)");
  const insert = db.prepare("insert into bench_commit (v) values (?)");
  const n = 500;
  const start = performance.now();
  for (let i = 0; i < n; i++) insert.run("x");
  const micros = ((performance.now() - start) * 1000) / n;
  db.close();
  return micros;
}

/** What one commit costs on this PostgreSQL: the bound for a sequential task. */
async function bareCommitMicros(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  // A logged table (a temporary one skips the WAL and would flatter the figure).
  await client.query("create table if not exists bench_commit (id serial primary key, v text)");
  const n = 500;
  const start = performance.now();
  for (let i = 0; i < n; i++) await client.query("insert into bench_commit (v) values ($1)", ["x"]);
  const micros = ((performance.now() - start) * 1000) / n;
  await client.query("drop table bench_commit");
  await client.end();
  return micros;
}

if (!only || only === "sqlite") await benchStore("sqlite", `sqlite://${path.join(home, "bench.db")}`);
if (!only || only === "postgres") {
  const db = await benchPgDatabase("engine");
  try {
    await benchStore("postgres", db.url);
  } finally {
    await db.drop();
  }
}

const plain = { head: [], border: [] };
const overhead = new Table({ head: ["store", "scenario", "tasks/s", "µs per task (flow)", "total ms"], style: plain });
overhead.push(...rows);
console.log(`\nEngine overhead, every state persisted (node ${process.version}, ${os.availableParallelism()} cores)`);
console.log(overhead.toString());

// Thread runner: 8 CPU-bound tasks, each ~0.9 s of arithmetic on the 2-vCPU dev VM (see BENCHMARKS.md).
await configure({ databaseUrl: `sqlite://${path.join(home, "threads.db")}`, resultsDir: path.join(home, "results"), logLevel: "silent" });
const ROUNDS = 12_000_000;
const onLoop = flow(async function benchCpuAsync() {
  return Promise.all(burnAsync.map(Array(8).fill(ROUNDS)));
});
const onThreads = flow(async function benchCpuThreads() {
  return Promise.all(burnThreads.map(Array(8).fill(ROUNDS)));
});
await onThreads(); // start the pool's threads and load the module once
const tLoop = await time(() => onLoop());
const tThreads = await time(() => onThreads());
const threads = new Table({ head: ["runner", "8 CPU-bound tasks (ms)", "speed-up"], style: plain });
threads.push(["async (event loop)", fmt(tLoop), "1.0x"], [`threads (${os.availableParallelism()} threads)`, fmt(tThreads), `${(tLoop / tThreads).toFixed(2)}x`]);
console.log("\nCPU-bound tasks: event loop vs worker threads");
console.log(threads.toString());
await shutdown();
fs.rmSync(home, { recursive: true, force: true });
