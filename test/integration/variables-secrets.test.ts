/**
 * Variables and secrets on SQLite and PostgreSQL, through the API and the SDK: variables CRUD
 * with events that carry no value; secrets set, listed (names and times only) and read back
 * only by an admin or by a worker key for a run whose job variables reference them; a
 * reference to a missing variable or secret in a deployment is a 400 naming the field with
 * nothing stored; `getSecret` in a run, direct and remote, with the value redacted from the
 * run's logs and its error.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cli } from "../support/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, type ApiHarness } from "../support/api.ts";
import { configure, flow, getSecret, getVariable, setVariable, shutdown } from "../../src/index.ts";
import { makeSecretKey } from "../../src/core/secret-cipher.ts";
import { clearRedacted } from "../../src/core/redaction.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { sql } from "kysely";

const SECRET = `pw-${randomBytes(12).toString("hex")}`;
const KEY = randomBytes(32);
const admin = { authorization: "Bearer vs-admin" };
const worker = { authorization: "Bearer vs-worker" };

const readsSecret = flow(async function readsSecret() {
  const value = await getSecret("db");
  const region = await getVariable<string>("region");
  await setVariable("last-region", region, { tags: ["runs"] });
  const { getRunLogger } = await import("../../src/index.ts");
  getRunLogger().info(`connecting with ${value} in ${region}`);
  throw new Error(`login refused for password ${value}`);
});

describe.each(DIALECTS)("variables and secrets on %s", (dialect) => {
  let h: ApiHarness;
  const previousKey = process.env.BATON_SECRET_KEY;

  beforeAll(async () => {
    process.env.BATON_SECRET_KEY = KEY.toString("base64");
    h = await apiHarness(dialect, { apiKeys: ["admin:vs-admin", "worker:vs-worker", "viewer:vs-viewer"], secretKey: () => makeSecretKey(KEY, "test") });
  });
  afterAll(async () => {
    await h.close();
    clearRedacted();
    if (previousKey === undefined) delete process.env.BATON_SECRET_KEY;
    else process.env.BATON_SECRET_KEY = previousKey;
  });

  it("keeps variables: set, get, list, replace, delete, with events that carry no value", async () => {
    let res = await h.call("PUT", "/api/variables/region", { value: "eu-west-1", tags: ["infra"] }, admin);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "region", value: "eu-west-1", tags: ["infra"] });
    await h.call("PUT", "/api/variables/limits", { value: { batch: 500 } }, worker);
    expect((await h.call("GET", "/api/variables/limits", undefined, worker)).body.value).toEqual({ batch: 500 });
    res = await h.call("GET", "/api/variables", undefined, worker);
    expect(res.body.items.map((v: { name: string }) => v.name)).toEqual(["limits", "region"]);
    expectError(await h.call("PUT", "/api/variables/bad name", { value: 1 }, admin), 400, /params\.name/);
    expectError(await h.call("DELETE", "/api/variables/limits", undefined, worker), 403, /admin/);
    expect((await h.call("DELETE", "/api/variables/limits", undefined, admin)).status).toBe(204);
    expect((await h.call("GET", "/api/variables/limits", undefined, admin)).status).toBe(404);
    const events = (await h.call("GET", "/api/events?event=baton.variable.*&limit=50", undefined, admin)).body.items as { event: string; payload: unknown }[];
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["baton.variable.set", "baton.variable.deleted"]));
    expect(JSON.stringify(events)).not.toContain("500");
  });

  it("stores secrets sealed and answers names and times only, except to an admin's value read", async () => {
    const res = await h.call("PUT", "/api/secrets/db", { value: SECRET }, admin);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["createdAt", "name", "updatedAt"]);
    expectError(await h.call("PUT", "/api/secrets/db", { value: SECRET }, worker), 403, /admin/);
    // Names and times to those who may list them (a viewer); a worker key reads only what its runs reference.
    const list = await h.call("GET", "/api/secrets", undefined, { authorization: "Bearer vs-viewer" });
    expect(list.body.items).toEqual([{ name: "db", createdAt: expect.any(Number), updatedAt: expect.any(Number) }]);
    expectError(await h.call("GET", "/api/secrets", undefined, worker), 403, /this request's key is a worker key/);
    const read = await h.call("GET", "/api/secrets/db/value", undefined, admin);
    expect(read.body).toEqual({ name: "db", value: SECRET });
    expect(read.headers["cache-control"]).toBe("no-store");
    const rows = await sql<Record<string, unknown>>`select * from secrets`.execute(h.store.db);
    expect(JSON.stringify(rows.rows)).not.toContain(SECRET);
    expect(rows.rows[0]).toMatchObject({ name: "db", key_fingerprint: makeSecretKey(KEY, "x").fingerprint });
    const events = (await h.call("GET", "/api/events?event=baton.secret.*&limit=50", undefined, admin)).body;
    expect(events.items.map((e: { event: string }) => e.event)).toContain("baton.secret.set");
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expectError(await h.call("GET", "/api/secrets/nope/value", undefined, admin), 404, /secret nope/);
  });

  it("lets a worker key read a secret only for a claimed run whose job variables reference it", async () => {
    expectError(await h.call("GET", "/api/secrets/db/value", undefined, worker), 403, /flowRunId is required/);
    const plain = await claimedFlowRun(h.store, "plain", "w-1");
    expectError(await h.call("GET", `/api/secrets/db/value?flowRunId=${plain.id}`, undefined, worker), 403, /may not read it/);
    const orchestration = new KyselyOrchestrationStore(h.store);
    await orchestration.upsertWorkPool({ name: "granting", jobVariables: { env: { DB_PASSWORD: "{{ secrets.db }}" } } });
    await h.store.createFlowRun({
      id: "0000granted", flowName: "g", name: "g", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      workPool: "granting", workQueue: "default", entrypoint: "f.ts:g", state: (await import("../../src/core/states.ts")).makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
    });
    const [granted] = await orchestration.claimFlowRuns("granting", "w-2", 1, Date.now());
    expect(granted!.jobVariables.env).toEqual({ DB_PASSWORD: "{{ secrets.db }}" });
    expect((await h.call("GET", `/api/secrets/db/value?flowRunId=${granted!.id}`, undefined, worker)).body.value).toBe(SECRET);
    // The pool's job variables as others see them: the reference, never the value.
    expect(JSON.stringify((await h.call("GET", "/api/work-pools/granting", undefined, admin)).body)).not.toContain(SECRET);
  });

  it("refuses a deployment that references a missing variable or secret, naming the field, and stores nothing", async () => {
    await h.call("POST", "/api/work-pools", { name: "refs" }, admin);
    const base = { name: "with-refs", flowName: "f", entrypoint: "f.ts:f", workPool: "refs" };
    let res = await h.call("POST", "/api/deployments", { ...base, jobVariables: { env: { DB_PASSWORD: "{{ secrets.missing }}" } } }, admin);
    expectError(res, 400, /^body\.jobVariables\.env\.DB_PASSWORD: secret "missing" does not exist/);
    expect(res.body.error.details).toEqual({ field: "body.jobVariables.env.DB_PASSWORD" });
    expectError(await h.call("POST", "/api/deployments", { ...base, parameters: { region: "{{ variables.nope }}" } }, admin), 400, /^body\.parameters\.region: variable "nope" does not exist/);
    expectError(await h.call("POST", "/api/deployments", { ...base, parameters: { pw: "{{ secrets.db }}" } }, admin), 400, /^body\.parameters\.pw: \{\{ secrets\.db \}\} may not be used here/);
    expect((await h.call("GET", "/api/deployments/with-refs", undefined, admin)).status).toBe(404);
    res = await h.call("POST", "/api/deployments", { ...base, parameters: { region: "{{ variables.region }}" }, jobVariables: { env: { DB_PASSWORD: "{{ secrets.db }}" } } }, admin);
    expect(res.status).toBe(201);
    const listed = await h.call("GET", "/api/deployments", undefined, admin);
    expect(JSON.stringify(listed.body)).toContain("{{ secrets.db }}");
    expect(JSON.stringify(listed.body)).not.toContain(SECRET);
  });

  it.runIf(dialect === "sqlite")("baton deployment run --env and work-pool create --env on the database refuse a missing secret, naming the flag, and store nothing", async () => {
    await h.call("POST", "/api/deployments", { name: "cli-refs", flowName: "f", entrypoint: "f.ts:f", workPool: "refs" }, admin);
    const env = { BATON_DATABASE_URL: h.url, BATON_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "baton-refs-cli-")), BATON_SECRET_KEY: KEY.toString("base64") };
    const run = await cli(["deployment", "run", "cli-refs", "--env", "TOKEN={{ secrets.absent }}"], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--env\.env\.TOKEN: secret "absent" does not exist/);
    expect((await h.call("GET", "/api/flow-runs?deploymentId=cli-refs", undefined, admin)).body.items ?? []).toEqual([]);
    const pool = await cli(["work-pool", "create", "cli-refs-pool", "--env", "TOKEN={{ secrets.absent }}"], env);
    expect(pool.code).not.toBe(0);
    expect(pool.stderr).toMatch(/--env\.env\.TOKEN: secret "absent" does not exist/);
    expect((await h.call("GET", "/api/work-pools/cli-refs-pool", undefined, admin)).status).toBe(404);
  });

  it("gives getSecret and getVariable to a run on the database, redacting the secret from its logs and error", async () => {
    await configure({ databaseUrl: h.url, logLevel: "silent" });
    try {
      await readsSecret().catch(() => undefined); // it fails on purpose
      await expectRedactedRun(h);
    } finally {
      await shutdown();
    }
  });

  it("does the same in remote mode through the server", async () => {
    const server = await (await import("../../src/server/app.ts")).buildServer({ store: h.store, secretKey: () => makeSecretKey(KEY, "test"), automationService: false });
    const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    clearRedacted();
    await configure({ apiUrl: url, logLevel: "silent" });
    try {
      await readsSecret().catch(() => undefined);
      await expectRedactedRun(h);
    } finally {
      await shutdown();
      await server.close();
    }
  });
});

/** The latest run of readsSecret failed with the secret redacted from its message, stack and logs, and set its variable. */
async function expectRedactedRun(h: ApiHarness): Promise<void> {
  const runs = (await h.call("GET", "/api/flow-runs?limit=10", undefined, admin)).body.items as { id: string; flowName: string; state: { type: string } }[];
  const run = runs.find((r) => r.flowName === "readsSecret")!;
  expect(run.state.type).toBe("FAILED");
  const detail = await h.call("GET", `/api/flow-runs/${run.id}`, undefined, admin);
  expect(detail.body.state.message).toContain("login refused for password ***");
  const logs = await h.call("GET", `/api/logs?flowRunId=${run.id}&limit=1000`, undefined, admin);
  expect(JSON.stringify(logs.body)).toContain("connecting with *** in eu-west-1");
  for (const body of [detail.body, logs.body]) expect(JSON.stringify(body)).not.toContain(SECRET);
  const events = await h.call("GET", "/api/events?limit=200", undefined, admin);
  expect(JSON.stringify(events.body)).not.toContain(SECRET);
  expect((await h.call("GET", "/api/variables/last-region", undefined, admin)).body.value).toBe("eu-west-1");
  await h.call("DELETE", `/api/flow-runs/${run.id}`, undefined, admin);
}
