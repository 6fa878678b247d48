/**
 * `baton model serve` under load, as its own process on SQLite (`tsx bench/serve.ts`):
 *   - paced: --rate requests/s (default 200) for --seconds (default 10), each sent at its due time
 *     whether or not earlier ones were answered, the alias promoted from v1 to v2 after 40% of
 *     the load. Figures: requests answered per second, failed requests (must be 0), latency
 *     p50/p99/max, how late the last answer came, and when v2 first answered after the promotion.
 *   - saturated: autocannon, 10 connections for 5 s, one version: the most /predict answers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import Table from "cli-table3";
import { configure, promoteModel, registerModel, shutdown } from "../src/index.ts";
import { fmt, opt } from "./support.ts";

const RATE = Number(opt("rate", "200"));
const SECONDS = Number(opt("seconds", "10"));
const BIN = path.join(import.meta.dirname, "../bin/baton.js");
const HANDLER = path.join(import.meta.dirname, "serve-handler.ts");

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-serve-"));
const env = { ...process.env, BATON_HOME: home, BATON_DATABASE_URL: `sqlite://${path.join(home, "baton.db")}`, BATON_LOG_LEVEL: "silent" };

async function startServing(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, "model", "serve", "scaler", "--handler", HANDLER, "--port", "0", "--poll", "200"], { env, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = / at (http:\/\/\S+)\/predict/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`baton model serve exited with ${code}`)));
  });
  return { child, url };
}

interface Answer {
  sentAt: number;
  answeredAt: number;
  ok: boolean;
  version: number | null;
}

/** RATE requests/s for SECONDS, paced; `midway` runs once 40% of the load has been sent. */
async function paced(url: string, midway: () => Promise<void>): Promise<{ answers: Answer[]; start: number; movedAt: number }> {
  const total = RATE * SECONDS;
  const start = performance.now();
  const pending: Promise<Answer>[] = [];
  let moved: Promise<void> | undefined;
  let movedAt = Infinity;
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (!moved && i >= total * 0.4) moved = midway().then(() => void (movedAt = performance.now()));
    const sentAt = performance.now();
    pending.push(
      fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [i % 100, 0.5] }) }).then(
        async (res) => {
          const body = res.ok ? ((await res.json()) as { model: { version: number } }) : null;
          return { sentAt, answeredAt: performance.now(), ok: res.ok, version: body?.model.version ?? null };
        },
        () => ({ sentAt, answeredAt: performance.now(), ok: false, version: null }),
      ),
    );
  }
  const answers = await Promise.all(pending);
  await moved;
  return { answers, start, movedAt };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  await configure({ databaseUrl: env.BATON_DATABASE_URL, logLevel: "silent" });
  await registerModel("scaler", { value: { factor: 2 }, metrics: { mse: 0.2 } });
  await promoteModel("scaler", 1);
  await registerModel("scaler", { value: { factor: 3 }, metrics: { mse: 0.1 } });
  const { child, url } = await startServing();
  const rows: string[][] = [];
  try {
    // Warm-up: connections, the JIT.
    await autocannon({ url: `${url}/predict`, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [1, 2] }), connections: 4, duration: 2 });
    const { answers, start, movedAt } = await paced(url, async () => {
      await promoteModel("scaler", 2);
    });
    const ok = answers.filter((a) => a.ok);
    const latencies = answers.map((a) => a.answeredAt - a.sentAt).sort((a, b) => a - b);
    const lastAnswer = Math.max(...answers.map((a) => a.answeredAt)) - start;
    const firstV2 = Math.min(...ok.filter((a) => a.version === 2).map((a) => a.answeredAt));
    rows.push([`paced, ${RATE}/s for ${SECONDS} s, v1 → v2 at ${SECONDS * 0.4} s`, fmt(ok.length / (lastAnswer / 1000)), `${answers.length - ok.length} of ${answers.length}`, `${latencies.length ? `${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} / ${latencies.at(-1)!.toFixed(1)}` : "-"}`, `last answer ${fmt(lastAnswer - ((RATE * SECONDS - 1) * 1000) / RATE)} ms after the last request was sent; v2 ${fmt(firstV2 - movedAt)} ms after the promotion`]);
    const saturated = await autocannon({ url: `${url}/predict`, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [1, 2] }), connections: 10, duration: 5 });
    rows.push(["saturated, 10 connections for 5 s", fmt(saturated.requests.average), `${saturated.errors + saturated.non2xx} of ${saturated.requests.total}`, `${saturated.latency.p50} / ${saturated.latency.p99} / ${saturated.latency.max}`, ""]);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await shutdown();
    fs.rmSync(home, { recursive: true, force: true });
  }
  const table = new Table({ head: ["baton model serve (SQLite registry)", "answers/s", "failed", "latency ms p50 / p99 / max", "notes"] });
  table.push(...rows);
  console.log(table.toString());
}

await main();
