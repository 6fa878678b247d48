/**
 * `npm run bench:scale`: does the cost of a fan-out grow linearly? One flow maps a no-op task
 * over 10,000, 100,000 and 1,000,000 items (the million as ten `map` calls of 100,000), each in
 * a fresh process on a fresh database, every state persisted; prints tasks per second, the
 * ratio to the 10,000 figure, tasks per second of the process's CPU time (what a task costs,
 * even on a shared machine), and the process's peak RSS.
 * Options: --sizes 10000,100000,1000000, --chunk 100000, --only sqlite|postgres,
 * --heap MB (the children's --max-old-space-size: V8 otherwise lets garbage grow the heap far
 * past what is live; with a cap it collects sooner), --code dist|src (Baton's build, the
 * default, as users run it: build it first with `node scripts/build.mjs`; or its sources
 * through tsx).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { benchPgDatabase, fmt, opt } from "./support.ts";

const sizes = opt("sizes", "10000,100000,1000000").split(",").map(Number);
const chunk = Number(opt("chunk", "100000"));
const heap = opt("heap", "");
const only = opt("only", "sqlite");
const code = opt("code", "dist");
if (code === "dist" && !fs.existsSync(path.join(import.meta.dirname, "..", "dist/index.js"))) throw new Error("--code dist needs a build: run `node scripts/build.mjs` first");
const child = path.join(import.meta.dirname, "scale-child.ts");

interface Measure {
  n: number;
  ms: number;
  cpuMs: number;
  peakRssMb: number;
}

async function measure(store: string, n: number): Promise<Measure> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-scale-db-"));
  const pgDb = store === "postgres" ? await benchPgDatabase(`scale_${n}`) : null;
  const url = pgDb?.url ?? `sqlite://${path.join(home, "scale.db")}`;
  try {
    const flags = ["--import", "tsx", ...(heap ? [`--max-old-space-size=${heap}`] : [])];
    const out = execFileSync(process.execPath, [...flags, child, String(n), String(Math.min(chunk, n)), url, code], { encoding: "utf8", maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Measure;
  } finally {
    await pgDb?.drop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const table = new Table({ head: ["store", "mapped tasks", "tasks/s", "vs first size", "tasks per CPU-s", "vs first size", "peak RSS (MB)", "ms"] });
for (const store of only === "both" ? ["sqlite", "postgres"] : [only]) {
  let base = 0;
  let cpuBase = 0;
  for (const n of sizes) {
    const m = await measure(store, n);
    const rate = n / (m.ms / 1000);
    const cpuRate = n / (m.cpuMs / 1000);
    base ||= rate;
    cpuBase ||= cpuRate;
    const pct = (x: number, of: number) => `${((x / of) * 100).toFixed(0)}%`;
    table.push([store, n.toLocaleString("en"), fmt(rate), pct(rate, base), fmt(cpuRate), pct(cpuRate, cpuBase), fmt(m.peakRssMb), fmt(m.ms)]);
    console.error(`${store} ${n}: ${fmt(rate)} tasks/s (${fmt(cpuRate)} per CPU-second), peak ${m.peakRssMb} MB`);
  }
}
console.log(`\nFan-out scaling (${code === "dist" ? "the build" : "the sources"}, chunks of ${chunk.toLocaleString("en")}${heap ? `, --max-old-space-size=${heap}` : ""})`);
console.log(table.toString());
