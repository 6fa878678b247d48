/**
 * Fresh, isolated databases for tests: a temp-dir SQLite file, or a new PostgreSQL database
 * created on the local server (BATON_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 * and dropped afterwards.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export const DIALECTS = ["sqlite", "postgres"] as const;
export type TestDialect = (typeof DIALECTS)[number];

/** The long form of the suite (`npm run test:full`): end-to-end files on both databases, the multi-host file whole. */
export const FULL = process.env.BATON_TEST_FULL === "1";

/**
 * The databases an end-to-end file runs on: both in the full suite, else the one it names —
 * files name the one their path matters most on, so `npm test` drives real processes over each.
 * Store and integration tests run on both always.
 */
export function e2eDialects(primary: TestDialect): readonly TestDialect[] {
  return FULL ? DIALECTS : [primary];
}

export const PG_ADMIN_URL = process.env.BATON_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export async function freshDatabaseUrl(dialect: TestDialect): Promise<{ url: string; cleanup(): Promise<void> }> {
  if (dialect === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-test-"));
    return { url: `sqlite://${path.join(dir, "baton.db")}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) }; // a process that just exited may still be closing its files
  }
  const name = `baton_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client(PG_ADMIN_URL);
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    cleanup: async () => {
      const client = new pg.Client(PG_ADMIN_URL);
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
