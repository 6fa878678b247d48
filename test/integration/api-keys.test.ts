/**
 * Stored API keys and accounts through the API, on SQLite and PostgreSQL (issue 11): a key's
 * life (created and shown once, used, its last use recorded, expired, revoked), the database
 * holding hashes only, accounts signing in with a password, wrong keys and failed sign-ins
 * limited per client address, and scoped keys seeing and touching only their pools and tags.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { createApiKey, firstAdminKey } from "../../src/services/credentials.ts";
import { KyselyCredentialStore } from "../../src/store/credential-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { until } from "../support/processes.ts";

describe.each(DIALECTS)("stored API keys and accounts on %s", (dialect) => {
  let api: ApiHarness;
  let credentials: KyselyCredentialStore;
  let admin: Record<string, string>;
  /** A call from one client address (inject's default is 127.0.0.1). */
  const from = async (address: string, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const response = await api.server.app.inject({ method: method as "GET", url, payload: payload as object, headers, remoteAddress: address });
    const json = String(response.headers["content-type"] ?? "").startsWith("application/json");
    return { status: response.statusCode, body: json ? response.json() : response.body, headers: response.headers };
  };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const as = (key: string, method: string, url: string, payload?: unknown) => from("10.1.0.1", method, url, payload, bearer(key));

  beforeAll(async () => {
    api = await apiHarness(dialect, { auth: true });
    credentials = new KyselyCredentialStore(api.store);
    // What `baton server init-admin` (or the first start with BATON_AUTH=on) does.
    const first = (await firstAdminKey(credentials))!;
    expect(first.apiKey).toMatchObject({ role: "admin", name: "first admin" });
    expect(await firstAdminKey(credentials)).toBeNull();
    admin = bearer(first.key);
  });
  afterAll(() => api.close());

  it("requires a credential on every API route but health and sign-in once BATON_AUTH is on, with no static key", async () => {
    expect((await from("10.1.0.9", "GET", "/api/health")).status).toBe(200);
    expectError(await from("10.1.0.9", "GET", "/api/flow-runs"), 401, /requires an API key/);
    expect((await from("10.1.0.9", "GET", "/api/flow-runs", undefined, admin)).status).toBe(200);
  });

  it("creates a key shown once, stores only its scrypt hash, lists it without secret, records its last use, and revokes it at once", async () => {
    const created = await as(admin.authorization!.slice(7), "POST", "/api/api-keys", { name: "ci deploys", role: "developer" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const { key, apiKey } = created.body;
    expect(key).toMatch(/^baton_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: "ci deploys", role: "developer", prefix: key.slice(6, 18), scope: { pools: null, deploymentTags: null }, createdBy: "first admin", revokedAt: null, lastUsedAt: null, expiresAt: null });
    expect(apiKey).not.toHaveProperty("hash");

    const row = await api.store.db.selectFrom("api_keys").selectAll().where("id", "=", apiKey.id).executeTakeFirstOrThrow();
    expect(row.hash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(row)).not.toContain(key.slice(19));
    const listed = await as(admin.authorization!.slice(7), "GET", "/api/api-keys");
    expect(listed.body.items.map((k: { id: string }) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(19));
    expect(JSON.stringify(listed.body)).not.toContain("scrypt");

    // Used: it works as its role, and its last use is written (after the answer).
    const session = await as(key, "GET", "/api/session");
    expect(session.body).toMatchObject({ role: "developer", name: "ci deploys", keysRequired: true, scope: { pools: null, deploymentTags: null } });
    expect(session.body.permissions).toContain("deployments:write");
    expect(session.body.permissions).not.toContain("secrets:values");
    expect((await as(key, "POST", "/api/flow-runs", { flowName: "by-a-developer" })).status).toBe(201);
    expectError(await as(key, "GET", "/api/secrets/nope/value"), 403, /needs an admin or worker API key; this request's key is a developer key/);
    await until(async () => (await credentials.findApiKeys(apiKey.id))[0]!.lastUsedAt !== null, "the key's last use recorded", 5_000);

    // Revoked by its prefix: refused at once (the cache of verified keys is dropped), and stays revoked.
    const revoked = await as(admin.authorization!.slice(7), "POST", `/api/api-keys/${apiKey.prefix}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(Number));
    expectError(await as(key, "GET", "/api/flow-runs"), 401, /not valid on this server \(unknown, revoked or expired\)/);
    expectError(await as(admin.authorization!.slice(7), "POST", "/api/api-keys/no-such-key/revoke", {}), 404, /API key "no-such-key" does not exist/);
  });

  it("refuses an expired key, and a key whose secret is wrong though its prefix is right", async () => {
    const expired = await createApiKey(credentials, { name: "old", role: "viewer", expiresInDays: 1 }, null, Date.now() - 2 * 86_400_000);
    expectError(await as(expired.key, "GET", "/api/flow-runs"), 401, /revoked or expired/);
    const live = await createApiKey(credentials, { name: "live", role: "viewer", expiresInDays: 1 }, null);
    expect((await as(live.key, "GET", "/api/flow-runs")).status).toBe(200);
    const forged = `${live.key.slice(0, 19)}${"A".repeat(43)}`;
    expectError(await from("10.1.0.2", "GET", "/api/flow-runs", undefined, bearer(forged)), 401, /not valid/);
    // Bad input naming the field: an unknown role, an expiry out of range.
    expectError(await as(admin.authorization!.slice(7), "POST", "/api/api-keys", { name: "x", role: "root" }), 400, /body\.role/);
    expectError(await as(admin.authorization!.slice(7), "POST", "/api/api-keys", { name: "x", role: "viewer", expiresInDays: -1 }), 400, /body\.expiresInDays/);
  });

  it("limits wrong keys per client address: after ten, even the right key waits; other addresses do not", async () => {
    for (let i = 0; i < 10; i++) expectError(await from("10.1.0.66", "GET", "/api/flow-runs", undefined, bearer(`wrong-key-${i}-xxxx`)), 401, /not valid/);
    const limited = await from("10.1.0.66", "GET", "/api/flow-runs", undefined, admin);
    expectError(limited, 429, /too many wrong API keys from 10\.1\.0\.66; try again in \d+ s/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect((await from("10.1.0.67", "GET", "/api/flow-runs", undefined, admin)).status).toBe(200);
  });

  it("signs an account in with its password to a session carrying its role; wrong passwords are limited; deleting it ends its sessions", async () => {
    const adminKey = admin.authorization!.slice(7);
    expectError(await as(adminKey, "POST", "/api/accounts", { name: "ops.alice", role: "operator", password: "short" }), 400, /body\.password/);
    const created = await as(adminKey, "POST", "/api/accounts", { name: "ops.alice", role: "operator", password: "correct horse battery" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "ops.alice", role: "operator", lastSignInAt: null });
    expect(JSON.stringify(created.body)).not.toContain("horse");
    expectError(await as(adminKey, "POST", "/api/accounts", { name: "ops.alice", role: "viewer", password: "another long one" }), 409, /already exists/);
    const stored = await api.store.db.selectFrom("accounts").selectAll().where("name", "=", "ops.alice").executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^scrypt\$/);

    const signIn = await from("10.1.0.20", "POST", "/api/session", { username: "ops.alice", password: "correct horse battery" });
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    expect(signIn.body).toMatchObject({ role: "operator", name: "ops.alice", keysRequired: true });
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
    const asAlice = (method: string, url: string, payload?: unknown) => from("10.1.0.20", method, url, payload, { cookie });
    const run = (await as(adminKey, "POST", "/api/flow-runs", { flowName: "for-alice" })).body;
    expect((await asAlice("POST", `/api/flow-runs/${run.id}/cancel`, {})).status).toBe(200);
    expectError(await asAlice("POST", "/api/flow-runs", { flowName: "nope" }), 403, /needs an admin, developer or worker API key; this request's account is an? operator account/);
    await until(async () => (await credentials.accountByName("ops.alice"))!.lastSignInAt !== null, "the sign-in recorded", 5_000);

    // Wrong passwords (and unknown names) name the field and are limited per address.
    expectError(await from("10.1.0.30", "POST", "/api/session", { username: "ops.alice", password: "wrong password!" }), 401, /^body\.password: wrong user name or password/);
    expectError(await from("10.1.0.30", "POST", "/api/session", { username: "nobody", password: "wrong password!" }), 401, /^body\.password: wrong user name or password/);
    expectError(await from("10.1.0.30", "POST", "/api/session", { username: "ops.alice" }), 400, /body\.password is required/);
    for (let i = 0; i < 3; i++) await from("10.1.0.30", "POST", "/api/session", { username: "ops.alice", password: `wrong ${i}` });
    expectError(await from("10.1.0.30", "POST", "/api/session", { username: "ops.alice", password: "correct horse battery" }), 429, /too many failed sign-ins/);

    expect((await as(adminKey, "DELETE", "/api/accounts/ops.alice")).status).toBe(204);
    expect((await asAlice("GET", "/api/flow-runs")).status).toBe(401);
    expectError(await as(adminKey, "DELETE", "/api/accounts/ops.alice"), 404, /account "ops.alice" does not exist/);
  });

  it("keeps a worker key scoped to pool A to pool A: it cannot claim from B nor read or write B's runs, and lists only A", async () => {
    const orchestration = new KyselyOrchestrationStore(api.store);
    for (const pool of ["pool-a", "pool-b"]) {
      await orchestration.upsertWorkPool({ name: pool });
      await orchestration.upsertDeployment({ name: `dep-${pool}`, flowName: "f", entrypoint: "flows.ts:f", workPool: pool, tags: [pool === "pool-a" ? "team-a" : "team-b"] });
    }
    const runIn = async (pool: string) =>
      (await as(admin.authorization!.slice(7), "POST", `/api/deployments/dep-${pool}/runs`, {})).body.id as string;
    const [a, b] = [await runIn("pool-a"), await runIn("pool-b")];
    const worker = (await as(admin.authorization!.slice(7), "POST", "/api/api-keys", { name: "worker a", role: "worker", pools: ["pool-a"] })).body.key as string;

    expectError(await as(worker, "POST", "/api/work-pools/pool-b/claim", { workerId: "wa", max: 5 }), 404, /params\.name: work pool pool-b was not found among those this key may see \(it is scoped to work pools pool-a\)/);
    expectError(await as(worker, "POST", "/api/work-pools/pool-b/workers", { id: "wa", name: "wa" }), 404, /scoped to work pools pool-a/);
    expectError(await as(worker, "GET", `/api/flow-runs/${b}`), 404, /params\.id: flow run .* was not found among those this key may see/);
    expectError(await as(worker, "GET", `/api/logs?flowRunId=${b}`), 404, /query\.flowRunId/);
    expectError(await as(worker, "GET", "/api/deployments/dep-pool-b"), 404, /deployment dep-pool-b/);
    expectError(await as(worker, "GET", "/api/events"), 403, /needs an admin, developer, operator or viewer API key/);
    expect((await as(worker, "POST", "/api/work-pools/pool-a/workers", { id: "wa", name: "wa" })).status).toBe(201);
    const claimed = await as(worker, "POST", "/api/work-pools/pool-a/claim", { workerId: "wa", max: 5 });
    expect(claimed.body.items.map((r: { id: string }) => r.id)).toEqual([a]);
    expect((await as(worker, "POST", `/api/flow-runs/${a}/set-state`, { state: { name: "Running" } })).status).toBe(200);
    // Claimed by another worker, B's run is still out of this key's reach.
    await orchestration.claimFlowRuns("pool-b", "wb", 5, Date.now());
    expectError(await as(worker, "POST", `/api/flow-runs/${b}/set-state`, { state: { name: "Running" } }), 404, /params\.id: flow run/);
    expectError(await as(worker, "POST", "/api/logs", { logs: [{ flowRunId: b, level: 20, message: "forged", timestamp: Date.now() }] }), 404, /body\.logs\.0\.flowRunId|flow run/);
    // A child run of A's run is A's (it has no pool of its own).
    const child = await as(worker, "POST", "/api/flow-runs", { flowName: "child", parentFlowRunId: a });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    expect((await as(worker, "GET", `/api/flow-runs/${child.body.id}`)).status).toBe(200);

    const runs = (await as(worker, "GET", "/api/flow-runs?limit=100")).body.items.map((r: { id: string }) => r.id);
    expect(runs).toContain(a);
    expect(runs).not.toContain(b);
    expect((await as(worker, "GET", "/api/work-pools")).body.items.map((p: { name: string }) => p.name)).toEqual(["pool-a"]);
    expect((await as(worker, "GET", "/api/deployments")).body.items.map((d: { name: string }) => d.name)).toEqual(["dep-pool-a"]);
    expect((await api.store.getFlowRun(b))!.state.name).toBe("Pending");
    expect(await api.store.listLogs({ flowRunId: b })).toEqual([]);
  });

  it("keeps a viewer key scoped to a deployment tag to the deployments with it and their runs", async () => {
    const viewer = (await createApiKey(credentials, { name: "team a", role: "viewer", deploymentTags: ["team-a"] }, null)).key;
    expect((await as(viewer, "GET", "/api/deployments")).body.items.map((d: { name: string }) => d.name)).toEqual(["dep-pool-a"]);
    const runs = (await as(viewer, "GET", "/api/flow-runs?limit=100")).body.items;
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r: { tags: string[] }) => r.tags.includes("team-a"))).toBe(true);
    const other = (await api.store.listFlowRuns({ limit: 500 })).find((r) => r.tags.includes("team-b"))!;
    expectError(await as(viewer, "GET", `/api/flow-runs/${other.id}`), 404, /scoped to deployment tags team-a/);
    expectError(await as(viewer, "GET", "/api/deployments/dep-pool-b"), 404, /deployment dep-pool-b/);
    // A key scoped to tags claims nothing: a pool holds every deployment's runs.
    const worker = (await createApiKey(credentials, { name: "tagged worker", role: "worker", deploymentTags: ["team-a"] }, null)).key;
    expectError(await as(worker, "POST", "/api/work-pools/pool-a/claim", { workerId: "wt", max: 1 }), 403, /a key scoped to deployment tags cannot claim runs/);
  });

  it("lets a viewer read results only when granted results:read, on a key or an account; grants name real permissions", async () => {
    const adminKey = admin.authorization!.slice(7);
    const resultId = newId();
    await api.store.applyWrites([{ kind: "result", result: { id: resultId, serializer: "devalue/1", value: "[42]", path: null, size: 4, createdAt: Date.now() } }]);
    const plain = (await as(adminKey, "POST", "/api/api-keys", { name: "plain viewer", role: "viewer" })).body;
    expect(plain.apiKey.grants).toEqual([]);
    expectError(await as(plain.key, "GET", `/api/results/${resultId}`), 403, /needs the permission results:read/);

    const made = await as(adminKey, "POST", "/api/api-keys", { name: "analyst", role: "viewer", grants: ["results:read", "runs:read"] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    // What the role already holds is not stored as a grant.
    expect(made.body.apiKey).toMatchObject({ role: "viewer", grants: ["results:read"] });
    expect((await as(made.body.key, "GET", `/api/results/${resultId}`)).body.value).toBe("[42]");
    const session = (await as(made.body.key, "GET", "/api/session")).body;
    expect(session.permissions).toContain("results:read");
    expect(session.permissions).not.toContain("runs:write");
    // Still a viewer for everything else.
    expectError(await as(made.body.key, "POST", "/api/flow-runs", { flowName: "nope" }), 403, /viewer key/);
    expect((await as(adminKey, "GET", "/api/api-keys")).body.items.find((k: { id: string }) => k.id === made.body.apiKey.id).grants).toEqual(["results:read"]);

    const account = await as(adminKey, "POST", "/api/accounts", { name: "data.bob", role: "viewer", password: "a long enough password", grants: ["results:read"] });
    expect(account.body).toMatchObject({ role: "viewer", grants: ["results:read"] });
    const signIn = await from("10.1.0.31", "POST", "/api/session", { username: "data.bob", password: "a long enough password" });
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    expect(signIn.body.permissions).toContain("results:read");
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
    expect((await from("10.1.0.31", "GET", `/api/results/${resultId}`, undefined, { cookie })).status).toBe(200);

    expectError(await as(adminKey, "POST", "/api/api-keys", { name: "x", role: "viewer", grants: ["results:write"] }), 400, /body\.grants/);
  });

  it("keeps static keys working beside stored ones", async () => {
    const both = await apiHarness(dialect, { apiKeys: ["admin:static-admin-1", "worker:static-worker-1"] });
    try {
      const stored = await createApiKey(new KyselyCredentialStore(both.store), { name: "stored", role: "viewer" }, null);
      expect((await both.call("GET", "/api/flow-runs", undefined, bearer("static-admin-1"))).status).toBe(200);
      expect((await both.call("GET", "/api/session", undefined, bearer(stored.key))).body).toMatchObject({ role: "viewer", keysRequired: true });
      expect((await both.call("POST", "/api/flow-runs", { flowName: "x" }, bearer(stored.key))).status).toBe(403);
      expect((await both.call("POST", "/api/flow-runs", { flowName: "x" }, bearer("static-admin-1"))).status).toBe(201);
      expect(await both.store.listFlowRuns({ flowName: "x" })).toHaveLength(1);
    } finally {
      await both.close();
    }
  });
});
