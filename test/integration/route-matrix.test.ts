/**
 * Every route × every caller (issue 11). With authentication on, each route the server
 * registers is called with no credential and with a stored key of each role: without one it is
 * a 401 (but for the few public routes), and with one it is refused with a 403 naming the
 * permission exactly when the role table says so. A route missing from the route table fails
 * here, so a new route cannot slip through unlisted. Then a viewer's writes, aimed at real
 * targets, are all refused and change nothing in the database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { can, ROLE_NAMES, type Role } from "../../src/core/permissions.ts";
import { ROUTE_PERMISSIONS } from "../../src/server/route-permissions.ts";
import { createApiKey } from "../../src/services/credentials.ts";
import { KyselyCredentialStore } from "../../src/store/credential-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { BATON_TABLES } from "../../src/store/tables.ts";
import { apiHarness, claimedFlowRun, type ApiHarness } from "../support/api.ts";

/** How a refusal for want of a permission reads (other 403s — a worker key on a run it does not hold — are the route's own). */
const PERMISSION_REFUSAL = /needs an? [a-z, ]+ API key; this request's key is an? \w+ key \(the route needs the permission [a-z]+:[a-z]+\)/;

describe("the route × role matrix, with BATON_AUTH=on", () => {
  let api: ApiHarness;
  let base: string;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    // No automation service: its cursor would move under the snapshot of the last test.
    api = await apiHarness("sqlite", { auth: true, automationService: false });
    const credentials = new KyselyCredentialStore(api.store);
    for (const role of ROLE_NAMES) keys[role] = (await createApiKey(credentials, { name: `matrix ${role}`, role }, null)).key;
    base = await api.server.app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(() => api.close());

  /** One call over HTTP (event streams are read up to their headers, then dropped). */
  const call = async (method: string, path: string, key?: string, body?: unknown) => {
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const sends = method !== "GET" && method !== "DELETE";
    if (sends) headers["content-type"] = "application/json";
    const abort = new AbortController();
    const response = await fetch(`${base}${path}`, { method, headers, body: sends ? JSON.stringify(body ?? {}) : undefined, signal: abort.signal });
    if (String(response.headers.get("content-type")).startsWith("text/event-stream")) {
      abort.abort();
      return { status: response.status, body: null as any };
    }
    const text = await response.text();
    return { status: response.status, body: (text && String(response.headers.get("content-type")).includes("json") ? JSON.parse(text) : text) as any };
  };
  /** A registered route, aimed at things that do not exist (so that no call changes anything). */
  const registered = () =>
    api.server.routes
      // The API's routes, and those outside it that the table lists (GET /metrics).
      .filter((r) => (r.url.startsWith("/api/") || `${r.method} ${r.url}` in ROUTE_PERMISSIONS) && r.method !== "HEAD" && r.method !== "OPTIONS")
      .map((r) => ({ ...r, route: `${r.method} ${r.url}`, path: r.url.replace(/:(\w+)/g, (_, p: string) => (p === "id" ? newId() : `no-such-${p}`)) }));

  it("has a line of the permission table for every route the server registers, and none for a route it does not", () => {
    const routes = registered();
    expect(routes.length).toBeGreaterThan(90);
    expect(routes.filter((r) => r.rule === undefined).map((r) => r.route), "add these routes to src/server/route-permissions.ts").toEqual([]);
    const known = new Set(routes.map((r) => r.route));
    expect(Object.keys(ROUTE_PERMISSIONS).filter((route) => !known.has(route)), "stale lines of the permission table").toEqual([]);
  });

  it("answers 401 to a call without a credential on every route but the public ones", async () => {
    for (const r of registered()) {
      const res = await call(r.method, r.path);
      if (r.rule && "public" in r.rule) expect(res.status, r.route).not.toBe(401);
      else {
        expect(res.status, `${r.route}: ${JSON.stringify(res.body)}`).toBe(401);
        expect(res.body.error.code).toBe("UNAUTHORIZED");
      }
    }
  });

  it("lets each role call exactly the routes its permissions cover, and refuses the others with a 403 naming the permission", async () => {
    let allowed = 0;
    let refused = 0;
    for (const r of registered()) {
      if (!r.rule || "public" in r.rule) continue;
      for (const role of ROLE_NAMES) {
        const res = await call(r.method, r.path, keys[role]);
        const expectAllowed = r.rule.permission === "signed-in" || can(role, r.rule.permission);
        const what = `${role} ${r.route}: ${res.status} ${JSON.stringify(res.body)}`;
        expect(res.status, what).toBeLessThan(500);
        expect(res.status, what).not.toBe(401);
        if (expectAllowed) {
          allowed++;
          expect(res.status === 403 && PERMISSION_REFUSAL.test(res.body.error.message), what).toBe(false);
        } else {
          refused++;
          expect(res.status, what).toBe(403);
          expect(res.body.error.message, what).toMatch(PERMISSION_REFUSAL);
          expect(res.body.error.details).toMatchObject({ role, permission: r.rule.permission });
        }
      }
    }
    // Five roles over ~95 routes: both sides are well exercised.
    expect(allowed).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(150);
  });

  it("refuses every write of a viewer with a 403, aimed at real targets, and the database is unchanged", async () => {
    const orchestration = new KyselyOrchestrationStore(api.store);
    const run = await claimedFlowRun(api.store, "matrix");
    await orchestration.upsertDeployment({ name: "target", flowName: "matrix", entrypoint: "flows.ts:matrix", workPool: run.workPool! });
    await orchestration.upsertConcurrencyLimit({ name: "target", limit: 1 });
    expect((await call("PUT", "/api/variables/target", keys.admin, { value: 1 })).status).toBe(201);
    expect((await call("POST", "/api/automations", keys.admin, { name: "target", trigger: { type: "event", match: { event: "x" } }, actions: [{ type: "pause-deployment", deployment: "target" }] })).status).toBeLessThan(500);
    const names: Record<string, string> = { id: run.id, name: "target", slug: "target", key: "target" };
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      // Key rows carry their last use (the viewer's key is used by these very calls), and the
      // audit log records each refused call: both change by design.
      for (const table of BATON_TABLES.filter((t) => t !== "api_keys" && t !== "audit_log")) out[table] = await api.store.db.selectFrom(table).selectAll().execute();
      return JSON.stringify(out);
    };
    const before = await snapshot();
    let writes = 0;
    for (const r of registered()) {
      // A POST that only computes (a schedule's preview) needs a read permission: not a write.
      if (r.method === "GET" || !r.rule || "public" in r.rule || r.rule.permission.endsWith(":read")) continue;
      writes++;
      const res = await call(r.method, r.url.replace(/:(\w+)/g, (_, p: string) => names[p] ?? p), keys.viewer, { name: "new", value: 2, flowName: "new", state: { name: "Running" } });
      expect(res.status, `${r.route}: ${JSON.stringify(res.body)}`).toBe(403);
    }
    expect(writes).toBeGreaterThan(50);
    expect(await snapshot()).toBe(before);
  });
});
