/**
 * Remote client mode vs direct store: the same three engine scenarios with the SDK talking to a
 * Baton server over HTTP (BATON_API_URL) instead of opening the database. The server runs in a
 * child process (`baton server start`); figures include the HTTP round trips. Usage: tsx bench/remote.ts
 * [--only sqlite|postgres] [--mapped N] [--sequential N]
 *
 * Both modes get the same warm-up before the timed runs. A fresh server's JIT needs a few
 * thousand requests before its request path is optimised (with V8's optimiser off, a batch
 * request costs ~300 µs more), while direct mode's code is already hot in this process; the
 * timed figures are steady-state overhead. The first sequential chain after the start, before
 * the warm-up, is reported too ("cold"). The machine may be shared: the sequential and empty-flow
 * figures are the median of three runs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { configure, shutdown } from "../src/index.ts";
import { empty, mapped, sequential, time } from "./flows.ts";
import { benchPgDatabase, fmt, opt, startServerProcess } from "./support.ts";

const MAPPED = Number(opt("mapped", "10000"));
const SEQUENTIAL = Number(opt("sequential", "1000"));
const only = opt("only", "");


/** The median of three timings of `fn` (ms). */
async function median(fn: () => Promise<unknown>): Promise<number> {
  const runs = [await time(fn), await time(fn), await time(fn)].sort((a, b) => a - b);
  return runs[1]!;
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-remote-"));
const rows: string[][] = [];

async function scenarios(label: string, target: { databaseUrl?: string; apiUrl?: string }): Promise<number[]> {
  await configure({ ...target, resultsDir: path.join(home, "results"), logLevel: "silent" });
  await mapped({ n: 500 });
  await sequential({ n: 100 });
  const tCold = await time(() => sequential({ n: SEQUENTIAL }));
  await sequential({ n: 2000 });
  for (let i = 0; i < 50; i++) await empty();
  const tMapped = await time(() => mapped({ n: MAPPED }));
  const tSeq = await median(() => sequential({ n: SEQUENTIAL }));
  const runs = 100;
  const tEmpty = await median(async () => {
    for (let i = 0; i < runs; i++) await empty();
  });
  await shutdown();
  const figures = [MAPPED / (tMapped / 1000), (tSeq * 1000) / SEQUENTIAL, (tEmpty * 1000) / runs, (tCold * 1000) / SEQUENTIAL];
  rows.push([label, fmt(figures[0]!), fmt(figures[1]!), fmt(figures[2]!), fmt(figures[3]!)]);
  return figures;
}

/** Each mode on its own fresh database, so that neither runs on the other's rows. */
async function compare(dialect: string, directUrl: string, remoteUrl: string): Promise<void> {
  const direct = await scenarios(`${dialect} direct`, { databaseUrl: directUrl });
  // The server in its own process, as in a deployment (`baton server start`).
  const server = await startServerProcess(remoteUrl);
  const address = server.address;
  try {
    const remote = await scenarios(`${dialect} remote (HTTP)`, { apiUrl: `${address}/api` });
    rows.push([
      `${dialect} remote / direct`,
      `${(direct[0]! / remote[0]!).toFixed(2)}x slower`,
      `${(remote[1]! / direct[1]!).toFixed(2)}x`,
      `${(remote[2]! / direct[2]!).toFixed(2)}x`,
      `${(remote[3]! / direct[3]!).toFixed(2)}x`,
    ]);
  } finally {
    await server.stop();
  }
}

if (!only || only === "sqlite") await compare("sqlite", `sqlite://${path.join(home, "direct.db")}`, `sqlite://${path.join(home, "remote.db")}`);
if (!only || only === "postgres") {
  const directDb = await benchPgDatabase("remote_direct");
  const remoteDb = await benchPgDatabase("remote_http");
  try {
    await compare("postgres", directDb.url, remoteDb.url);
  } finally {
    await directDb.drop();
    await remoteDb.drop();
  }
}
const out = new Table({
  head: ["mode", `mapped tasks/s (${MAPPED})`, `µs per sequential task (${SEQUENTIAL})`, "µs per empty flow", "µs per sequential task, cold"],
  style: { head: [], border: [] },
});
out.push(...rows);
console.log("\nRemote client mode (SDK -> HTTP API -> store) vs direct store");
console.log(out.toString());
fs.rmSync(home, { recursive: true, force: true });
