/**
 * Stored keys end to end, on SQLite and PostgreSQL (issue 11): `baton server init-admin` makes
 * the first admin key; a server with BATON_AUTH=on and no static key accepts it; the CLI creates
 * a worker key scoped to one pool through the API; a `baton worker start` process and its runs'
 * processes, with only that key, run a deployment; `baton api-key ls` shows its last use and
 * `revoke` ends it; an account made with `baton account create --password-stdin` signs in. And
 * a first start with BATON_AUTH=on and no key at all prints one admin key, once.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import { DeploymentSchema } from "../../src/schemas/deployment.ts";
import { FlowRunSchema } from "../../src/schemas/flow-run.ts";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { FLOWS, openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const KEY = /^baton_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/m;

describe.each(e2eDialects("postgres"))("stored API keys end to end on %s", (dialect) => {
  let db: WorkerDatabase;
  let server: { proc: Proc; url: string } | undefined;
  let adminKey: string;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-keys-"));
  /** The CLI through the server, with `key`. */
  const remote = (key: string) => ({ BATON_API_URL: server!.url, BATON_API_KEY: key, BATON_HOME: home });

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    const init = await cli(["server", "init-admin", "--name", "ops"], { BATON_DATABASE_URL: db.url, BATON_HOME: home });
    expect(init.code, init.stderr).toBe(0);
    adminKey = KEY.exec(init.stdout)![0];
    expect(init.stderr).toMatch(/Admin API key "ops" created: the line above is its secret, shown this once/);
    server = await startServerProcess({ BATON_DATABASE_URL: db.url, BATON_HOME: home, BATON_AUTH: "on" });
  }, 180_000);
  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await db.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("runs a deployment with a worker whose only credential is a stored worker key scoped to its pool", async () => {
    // The server had a key already: it printed none.
    expect(server!.proc.stdout()).not.toMatch(KEY);
    expect((await fetch(`${server!.url}/api/flow-runs`)).status).toBe(401);
    const created = await cli(["api-key", "create", "--name", "pool-a worker", "--role", "worker", "--pools", "keys-a", "--expires", "90d"], remote(adminKey));
    expect(created.code, created.stderr).toBe(0);
    const workerKey = KEY.exec(created.stdout)![0];
    expect(created.stderr).toMatch(/API key "pool-a worker" \(worker, scope: pools keys-a, active until .*\) created/);

    const api = new ApiClient({ baseUrl: server!.url, apiKey: adminKey });
    await api.request("POST", "/api/work-pools", { name: "keys-a" });
    const d = await api.request("POST", "/api/deployments", { name: "keys-quick", flowName: "quick", entrypoint: `${FLOWS}:quick`, workPool: "keys-a" }, DeploymentSchema);
    const run = await api.request("POST", `/api/deployments/${d.name}/runs`, { parameters: { n: 21 } }, FlowRunSchema);
    const worker = startWorkerProcess(db.url, "keys-a", { BATON_API_URL: server!.url, BATON_API_KEY: workerKey, BATON_HOME: path.join(home, "worker") });
    try {
      await until(async () => (await db.store.getFlowRun(run.id))?.state.name === "Completed", "the run to complete", 120_000).catch(async (error: Error) => {
        throw new Error(`${error.message}: it is ${(await db.store.getFlowRun(run.id))?.state.name}; the worker said ${worker.stderr()} ${worker.stdout()}`);
      });
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exit;
    }
    expect((await db.store.getFlowRun(run.id))!.workerId).not.toBeNull();
    // The key cannot reach outside its pool, and it is no admin.
    const asWorker = new ApiClient({ baseUrl: server!.url, apiKey: workerKey, maxRetryMs: 0 });
    await expect(asWorker.request("POST", "/api/work-pools/other/claim", { workerId: "x", max: 1 })).rejects.toThrow(/scoped to work pools keys-a/);
    await expect(asWorker.request("POST", "/api/deployments", { name: "x", flowName: "x", entrypoint: "x.ts:x" })).rejects.toThrow(/needs an admin or developer API key/);

    const listed = await cli(["api-key", "ls", "--json"], remote(adminKey));
    const keys = JSON.parse(listed.stdout) as { name: string; prefix: string; lastUsedAt: number | null; scope: unknown }[];
    const mine = keys.find((k) => k.name === "pool-a worker")!;
    expect(mine).toMatchObject({ scope: { pools: ["keys-a"], deploymentTags: null }, lastUsedAt: expect.any(Number) });
    expect(listed.stdout).not.toContain(workerKey.slice(19));
    const revoked = await cli(["api-key", "revoke", mine.prefix], remote(adminKey));
    expect(revoked.stdout).toContain(`API key "pool-a worker" (${mine.prefix}) revoked`);
    expect((await fetch(`${server!.url}/api/flow-runs`, { headers: { authorization: `Bearer ${workerKey}` } })).status).toBe(401);
    // Each CLI call starts a process: generous on a loaded machine.
  }, 300_000);

  it("creates an account from a password on standard input, which signs in to the dashboard", async () => {
    const made = spawnSync(process.execPath, [BIN, "account", "create", "dana", "--role", "viewer"], { cwd: ROOT, input: "a long enough password\n", env: { ...process.env, ...remote(adminKey) }, encoding: "utf8" });
    expect(made.status, made.stderr).toBe(1);
    expect(made.stderr).toMatch(/no terminal to prompt for the password: pipe it in with --password-stdin/);
    // What --grant takes: every permission, with the roles that hold it.
    const permissions = await cli(["api-key", "permissions"], remote(adminKey));
    expect(permissions.stdout).toMatch(/results:read +│ read task results and cache entries +│ admin, developer, operator, worker/);
    const badGrant = spawnSync(process.execPath, [BIN, "account", "create", "dana", "--role", "viewer", "--grant", "results:readd", "--password-stdin"], { cwd: ROOT, input: "a long enough password\n", env: { ...process.env, ...remote(adminKey) }, encoding: "utf8" });
    expect(badGrant.stderr).toMatch(/--grant takes permissions \(baton api-key permissions lists them\), got "results:readd"/);
    const ok = spawnSync(process.execPath, [BIN, "account", "create", "dana", "--role", "viewer", "--grant", "results:read", "--password-stdin"], { cwd: ROOT, input: "a long enough password\n", env: { ...process.env, ...remote(adminKey) }, encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Account dana (viewer + results:read) created");
    const signIn = await fetch(`${server!.url}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "dana", password: "a long enough password" }) });
    expect(signIn.status).toBe(200);
    const session = (await signIn.json()) as { permissions: string[] };
    expect(session).toMatchObject({ role: "viewer", name: "dana" });
    expect(session.permissions).toContain("results:read");
    const accounts = await cli(["account", "ls"], remote(adminKey));
    expect(accounts.stdout).toMatch(/dana[\s│|]+viewer \+ results:read/);
  }, 300_000);
});

describe("the first start with BATON_AUTH=on", () => {
  it("prints one admin key when there is none, and none at the next start", async () => {
    const db = await freshDatabaseUrl("sqlite");
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-first-"));
    try {
      const env = { BATON_DATABASE_URL: db.url, BATON_HOME: home, BATON_AUTH: "on" };
      const first = await startServerProcess(env);
      const key = await until(() => KEY.exec(first.proc.stdout())?.[0], "the first admin key");
      expect(first.proc.stdout()).toMatch(/BATON_AUTH is on and there was no API key: created admin key "first admin"/);
      const session = await fetch(`${first.url}/api/session`, { headers: { authorization: `Bearer ${key}` } });
      expect(await session.json()).toMatchObject({ role: "admin", keysRequired: true });
      await stopProcess(first.proc);
      const second = await startServerProcess(env);
      await new Promise((r) => setTimeout(r, 500));
      expect(second.proc.stdout()).not.toMatch(KEY);
      await stopProcess(second.proc);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
      await db.cleanup();
    }
  }, 300_000);
});
