/** Shared bits of the benchmark scripts. */
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
