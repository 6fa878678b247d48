/**
 * One measurement of bench/scale.ts, in its own process so that its peak memory is its own:
 * `tsx bench/scale-child.ts N CHUNK DATABASE_URL [dist|src]` maps a no-op task over N items,
 * CHUNK calls of `map` at a time, and prints {n, ms, cpuMs, peakRssMb} as JSON. It runs Baton's build
 * (dist/, what a user's process runs) unless told `src`: tsx's transform of the sources gives
 * every named function a `name` property of its own, which alone adds ~15% to the live heap of
 * a fan-out's queued calls.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [n, chunk, url, code = "dist"] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!, process.argv[5]];
if (code !== "dist" && code !== "src") throw new Error(`code must be dist or src, got ${code}`);
const entry = path.join(import.meta.dirname, "..", code === "dist" ? "dist/index.js" : "src/index.ts");
const { configure, flow, shutdown, task } = (await import(entry)) as typeof import("../src/index.ts");

const noop = task(async function benchNoop(i: number) {
  return i;
});

const chunked = flow(async function benchScale(p: { n: number; chunk: number }) {
  let done = 0;
  for (let start = 0; start < p.n; start += p.chunk) {
    const size = Math.min(p.chunk, p.n - start);
    const began = performance.now();
    const cpu = process.cpuUsage();
    const values = await Promise.all(noop.map(Array.from({ length: size }, (_, i) => start + i)));
    done += values.length;
    if (process.env.BENCH_SCALE_VERBOSE) {
      const used = process.cpuUsage(cpu);
      console.error(`chunk at ${start}: ${Math.round(performance.now() - began)} ms, ${Math.round((used.user + used.system) / 1000)} ms of CPU`);
    }
  }
  return done;
});

/** The process's peak resident set (VmHWM), in MB. */
function peakRssMb(): number {
  const line = fs.readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
  return line ? Math.round(Number(line.replace(/\D+/g, "")) / 1024) : Math.round(process.memoryUsage().rss / 1e6);
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-scale-"));
await configure({ databaseUrl: url, resultsDir: path.join(home, "results"), logLevel: "silent" });
await chunked({ n: 500, chunk: 500 }); // warm-up
const start = performance.now();
const cpuStart = process.cpuUsage();
const done = await chunked({ n, chunk });
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
await shutdown();
fs.rmSync(home, { recursive: true, force: true });
if (done !== n) throw new Error(`expected ${n} results, got ${done}`);
// CPU time (this process's, all its threads) says what a task costs even on a shared machine,
// where the wall time also counts the time other processes held the cores.
console.log(JSON.stringify({ n, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: peakRssMb() }));
