/**
 * Result storage (BATON_RESULTS_URL): a 5 MB result written by one process is read by another
 * with its own BATON_HOME — resume, cache hit, the API's result endpoints — through a shared
 * folder, the database (SQLite and PostgreSQL), a real S3-compatible server (s3rver on a random
 * port) and a server's API; the same bytes are stored once; blobs of deleted runs are collected;
 * an unknown URL and an unreachable store fail clearly.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, flow, shutdown, task } from "../../src/index.ts";
import { loadSettings } from "../../src/config/settings.ts";
import { databaseResultStorage } from "../../src/config/result-storage.ts";
import { parseResultsUrl } from "../../src/core/result-storage.ts";
import { UnknownResultStorageError } from "../../src/core/errors.ts";
import { ResultStore } from "../../src/engine/result-store.ts";
import { openStore } from "../../src/store/open.ts";
import { KyselyRunRetention } from "../../src/store/run-retention.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { buildServer } from "../../src/server/app.ts";
import { freshDatabaseUrl, type TestDialect } from "../support/databases.ts";
import { startProcess } from "../support/processes.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "large-result-flow.ts");
const FIVE_MB = 5 * 1024 * 1024;

let tmp: string;
let s3: S3rver;
let s3Env: Record<string, string>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "baton-result-storage-"));
  s3 = new S3rver({ address: "127.0.0.1", port: 0, directory: path.join(tmp, "s3"), silent: true, configureBuckets: [{ name: "baton-results", configs: [] }] });
  const { port } = await s3.run();
  s3Env = { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };
});

afterAll(async () => {
  await s3?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the fixture as a machine of its own; its one line of JSON. */
async function machine(env: Record<string, string>): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(tmp, "home-"));
  const proc = startProcess(["--import", "tsx", FIXTURE], { BATON_HOME: home, BATON_LOG_LEVEL: "silent", ...env });
  const code = await proc.exit;
  if (code !== 0) throw new Error(`the fixture exited ${code}: ${proc.stderr()}`);
  return JSON.parse(proc.stdout().trim().split("\n").at(-1)!) as Record<string, unknown>;
}

/** Sets environment variables for the test process's own runtime; returns the undo. */
function withEnv(values: Record<string, string>): () => void {
  const old = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  return () => {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
}

/** How many blobs a storage holds. */
async function blobCount(kind: string, store: KyselyStore, folder: string, prefix: string): Promise<number> {
  if (kind === "file") return fs.existsSync(folder) ? fs.readdirSync(folder).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length : 0;
  if (kind === "db") return Number((await store.db.selectFrom("result_blobs").select((eb) => eb.fn.countAll<number>().as("n")).where("chunk", "=", 0).executeTakeFirstOrThrow()).n);
  const client = new S3Client({ endpoint: s3Env.AWS_ENDPOINT_URL_S3, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  const page = await client.send(new ListObjectsV2Command({ Bucket: "baton-results", Prefix: prefix }));
  client.destroy();
  return (page.Contents ?? []).length;
}

describe("BATON_RESULTS_URL", () => {
  it("refuses an unknown scheme at startup, naming it", () => {
    expect(() => loadSettings({ BATON_RESULTS_URL: "ftp://bucket/results" })).toThrow(UnknownResultStorageError);
    expect(() => loadSettings({ BATON_RESULTS_URL: "ftp://bucket/results" })).toThrow(/BATON_RESULTS_URL "ftp:\/\/bucket\/results" is not a result storage/);
    for (const bad of ["s3://", "file://relative/x", "database", "s3://Bad_Bucket/x"]) expect(() => parseResultsUrl(bad, { dialect: "sqlite", resultsDir: "/r" })).toThrow(UnknownResultStorageError);
    expect(parseResultsUrl(null, { dialect: "postgres", resultsDir: "/r" })).toEqual({ kind: "db" });
    expect(parseResultsUrl(null, { dialect: "sqlite", resultsDir: "/r" })).toEqual({ kind: "file", dir: "/r" });
    expect(parseResultsUrl("s3://bucket/a/b/", { dialect: "sqlite", resultsDir: "/r" })).toEqual({ kind: "s3", bucket: "bucket", prefix: "a/b/" });
    expect(parseResultsUrl("file:///srv/results", { dialect: "sqlite", resultsDir: "/r" })).toEqual({ kind: "file", dir: "/srv/results" });
  });
});

// Two processes with a 5 MB result take a while on a loaded machine: the normal suite runs the
// cross-machine reads for each kind of shared storage (S3, the database, the database through
// the API), `npm run test:result-storage` (BATON_TEST_RESULT_MACHINES=1) for a shared folder too;
// collection runs for every storage and both databases.
const ALL_MACHINES = process.env.BATON_TEST_RESULT_MACHINES === "1";
const CASES: { name: string; dialect: TestDialect; kind: "file" | "db" | "s3"; remote?: true; machines?: boolean }[] = [
  { name: "a shared folder on SQLite", dialect: "sqlite", kind: "file", machines: ALL_MACHINES },
  { name: "the database on SQLite", dialect: "sqlite", kind: "db" },
  { name: "the database on PostgreSQL (the default)", dialect: "postgres", kind: "db", machines: true },
  { name: "S3 on PostgreSQL", dialect: "postgres", kind: "s3" },
  { name: "S3 on SQLite", dialect: "sqlite", kind: "s3", machines: true },
  { name: "the database through the API", dialect: "postgres", kind: "db", remote: true, machines: true },
];

describe.each(CASES)("large results in $name", ({ dialect, kind, remote, machines }) => {
  let db: Awaited<ReturnType<typeof freshDatabaseUrl>>;
  let store: KyselyStore;
  let folder: string;
  let prefix: string;
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof buildServer>>;
  let apiUrl: string;

  beforeAll(async () => {
    db = await freshDatabaseUrl(dialect);
    store = await openStore(db.url);
    folder = fs.mkdtempSync(path.join(tmp, "shared-"));
    prefix = `run-${path.basename(folder)}/`;
    // A client of the API says `db` itself (unset there keeps results inline).
    const url = kind === "file" ? `file://${folder}` : kind === "db" ? (dialect === "postgres" && !remote ? "" : "db") : `s3://baton-results/${prefix}`;
    env = { BATON_RESULTS_URL: url, ...(kind === "s3" ? s3Env : {}) };
    const restore = withEnv(env);
    try {
      // The server has its own BATON_HOME (none: no results folder): it reads what others wrote.
      server = await buildServer({ store, bodyLimit: 16 * 1024 * 1024, resultStorage: databaseResultStorage(loadSettings(), store, null) });
    } finally {
      restore();
    }
    apiUrl = remote ? await server.app.listen({ host: "127.0.0.1", port: 0 }) : "";
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await db?.cleanup();
  });

  it.runIf(machines)("is read by a resume, a cache hit and the API on other machines, stored once", { timeout: 120_000 }, async () => {
    const target: Record<string, string> = remote ? { BATON_API_URL: apiUrl } : { BATON_DATABASE_URL: db.url };
    const first = await machine({ ...env, ...target, LARGE_STEP: "write" });
    expect(first).toMatchObject({ state: "FAILED", bigCalls: 1 });
    const second = await machine({ ...env, ...target, LARGE_STEP: "read", LARGE_RUN: String(first.id) });
    // Resumed without running `big` again, then a cache hit: both read the 5 MB from the storage.
    expect(second).toMatchObject({ resumed: FIVE_MB, resumedState: "COMPLETED", cached: FIVE_MB, bigCalls: 0 });

    const [big] = (await store.listTaskRuns(String(first.id))).filter((t) => t.taskName === "big");
    const record = (await server.app.inject({ method: "GET", url: `/api/results/${big!.resultId}` })).json<{ value: string | null; path: string }>();
    expect(record.value).toBeNull();
    expect(record.path).toMatch(/^[0-9a-f]{64}\.json$/);
    const blob = await server.app.inject({ method: "GET", url: `/api/result-blobs/${record.path.slice(0, 64)}` });
    expect(blob.statusCode, blob.body.slice(0, 300)).toBe(200);
    expect(blob.rawPayload.length).toBeGreaterThan(FIVE_MB);
    expect(createHash("sha256").update(blob.rawPayload).digest("hex")).toBe(record.path.slice(0, 64));
    // The one large value, stored once though written by a task and read by a cache hit.
    expect(await blobCount(kind, store, folder, prefix)).toBe(1);
  });

  it("collects the blobs of deleted runs, keeping those still named and the young", { timeout: 60_000 }, async () => {
    if (remote) return; // Collection is the server's, over its database: the case above is its storage.
    const restore = withEnv(env);
    const home = fs.mkdtempSync(path.join(tmp, "home-"));
    try {
      await configure({ databaseUrl: db.url, resultsDir: path.join(home, "results"), logLevel: "silent" });
      const make = (letter: string) => task(async function large() { return letter.repeat(200_000); });
      const drop = make("d");
      const keep = make("k");
      await flow(async function dropped() {
        await drop();
      })();
      // The same bytes again, by a store of its own: still one blob.
      const runtime = databaseResultStorage(loadSettings(), store, path.join(home, "results"));
      await new ResultStore(store, runtime.blobs, 64 * 1024).save("d".repeat(200_000), "again");
      const before = await blobCount(kind, store, folder, prefix);
      await new Promise((r) => setTimeout(r, 20));
      const cutoff = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await flow(async function kept() {
        await keep();
      })();
      expect(await blobCount(kind, store, folder, prefix)).toBe(before + 1);

      const retention = new KyselyRunRetention(store, runtime.collectable);
      // Within the grace period nothing is taken, even of a deleted run.
      expect((await retention.prune(cutoff)).flowRuns).toBeGreaterThanOrEqual(1);
      expect(await blobCount(kind, store, folder, prefix)).toBe(before + 1);
      retention.blobGraceMs = 0;
      await retention.prune(cutoff);
      expect(await blobCount(kind, store, folder, prefix)).toBe(before);
      const [keptRun] = (await store.listFlowRuns()).filter((r) => r.flowName === "kept");
      const [keptTask] = await store.listTaskRuns(keptRun!.id);
      expect(await new ResultStore(store, runtime.blobs, 64 * 1024).load(keptTask!.resultId!)).toBe("k".repeat(200_000));
    } finally {
      await shutdown();
      restore();
    }
  });
});

describe("an unreachable object store", () => {
  it("fails the run with a message naming the store", { timeout: 60_000 }, async () => {
    const db = await freshDatabaseUrl("sqlite");
    const restore = withEnv({ ...s3Env, BATON_RESULTS_URL: "s3://baton-results/nowhere", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" });
    try {
      await configure({ databaseUrl: db.url, logLevel: "silent" });
      const big = task(async function unreachableBig() { return "u".repeat(100_000); });
      const outcome = await flow(async function unreachable() { return (await big()).length; }).run();
      expect(outcome.state.type).toBe("FAILED");
      const store = await openStore(db.url);
      const [taskRun] = await store.listTaskRuns(outcome.id);
      await store.close();
      expect(taskRun!.state.type).toBe("FAILED");
      expect(taskRun!.state.message).toMatch(/result storage s3:\/\/baton-results\/nowhere\/ \(endpoint http:\/\/127\.0\.0\.1:1\): (reading|writing) failed: connect ECONNREFUSED/);
    } finally {
      await shutdown();
      restore();
      await db.cleanup();
    }
  });
});
