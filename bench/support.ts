/** Shared bits of the benchmark scripts. */
import { spawn } from "node:child_process";
import path from "node:path";
import pg from "pg";

const args = process.argv.slice(2);

export function opt(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en") : n.toFixed(1);
}

/** A fresh PostgreSQL database for a benchmark (BENCH_PG_URL to use an existing one). */
export async function benchPgDatabase(suffix: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (process.env.BENCH_PG_URL) return { url: process.env.BENCH_PG_URL, drop: async () => undefined };
  const admin = "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `baton_bench_${suffix}_${process.pid}`;
  const client = new pg.Client(admin);
  await client.connect();
  await client.query(`drop database if exists ${name} with (force)`);
  await client.query(`create database ${name}`);
  await client.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: async () => {
      const c = new pg.Client(admin);
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** `baton server start --port 0` over `url`, in its own process; resolves with its address. */
export async function startServerProcess(url: string): Promise<{ address: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, "../bin/baton.js"), "server", "start", "--port", "0"], {
    env: { ...process.env, BATON_DATABASE_URL: url, BATON_SERVER_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/\S+) /.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    address,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
