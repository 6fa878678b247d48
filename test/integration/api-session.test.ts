/**
 * Dashboard sign-in with keys on: an API key exchanged for a session cookie that carries its
 * role (never the key itself), signing out, failed sign-ins limited per client address, and the
 * dashboard's pages served without a key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";

const ADMIN_KEY = "admin-secret-1";
const WORKER_KEY = "worker-secret-1";

describe("dashboard sessions", () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await apiHarness("sqlite", { apiKeys: [`admin:${ADMIN_KEY}`, `worker:${WORKER_KEY}`] });
  });
  afterAll(() => api.close());

  /** A request from one client address (inject's default is 127.0.0.1). */
  const from = async (address: string, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const response = await api.server.app.inject({ method: method as "GET", url, payload: payload as object, headers, remoteAddress: address });
    const json = String(response.headers["content-type"] ?? "").startsWith("application/json");
    return { status: response.statusCode, body: json ? response.json() : response.body, headers: response.headers };
  };
  const signIn = async (apiKey: string, headers: Record<string, string> = {}, address = "10.0.0.1") => {
    const res = await from(address, "POST", "/api/session", { apiKey }, headers);
    const setCookie = String(res.headers["set-cookie"] ?? "");
    return { ...res, setCookie, cookie: setCookie.split(";")[0]! };
  };

  it("exchanges a key for an HttpOnly, SameSite=Strict session cookie that is not the key, and accepts it in its stead", async () => {
    const admin = await signIn(ADMIN_KEY);
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ role: "admin", keysRequired: true });
    const attributes = admin.setCookie.split(";").map((a) => a.trim());
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=43200"]));
    expect(attributes).not.toContain("Secure"); // over plain HTTP the browser would drop it
    const token = admin.cookie.replace(/^baton_session=/, "");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(admin.setCookie).not.toContain(ADMIN_KEY);

    const headers = { cookie: `theme=dark; ${admin.cookie}` };
    expect((await from("10.0.0.1", "GET", "/api/flow-runs", undefined, headers)).status).toBe(200);
    expect((await from("10.0.0.1", "GET", "/api/session", undefined, headers)).body).toMatchObject({ role: "admin", keysRequired: true });
    expect((await from("10.0.0.1", "POST", "/api/flow-runs", { flowName: "from-the-dashboard" }, headers)).status).toBe(201);
    // A forged or unknown token is no session; nor is a wrong bearer key rescued by a good cookie.
    expect((await from("10.0.0.1", "GET", "/api/flow-runs", undefined, { cookie: `baton_session=${"A".repeat(43)}` })).status).toBe(401);
    expect((await from("10.0.0.1", "GET", "/api/flow-runs", undefined, { ...headers, authorization: "Bearer wrong-key-1" })).status).toBe(401);
    expect((await from("10.0.0.1", "GET", "/api/session")).status).toBe(401);
  });

  it("marks the cookie Secure when the dashboard was reached over HTTPS (through a proxy that says so)", async () => {
    const secure = await signIn(ADMIN_KEY, { "x-forwarded-proto": "https" });
    expect(secure.setCookie.split(";").map((a) => a.trim())).toContain("Secure");
  });

  it("gives a worker key's session the worker's role and no more", async () => {
    const worker = await signIn(WORKER_KEY);
    expect(worker.body).toMatchObject({ role: "worker", keysRequired: true });
    const headers = { cookie: worker.cookie };
    const run = (await from("10.0.0.1", "POST", "/api/flow-runs", { flowName: "theirs" }, { authorization: `Bearer ${ADMIN_KEY}` })).body;
    expect((await from("10.0.0.1", "GET", `/api/flow-runs/${run.id}`, undefined, headers)).status).toBe(200);
    expectError(await from("10.0.0.1", "DELETE", `/api/flow-runs/${run.id}`, undefined, headers), 403, /needs an admin or developer API key; this request's key is a worker key/);
  });

  it("signs out: the session ends at once and its cookie is removed", async () => {
    const { cookie } = await signIn(ADMIN_KEY);
    const out = await from("10.0.0.1", "DELETE", "/api/session", undefined, { cookie });
    expect(out.status).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/^baton_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    expect((await from("10.0.0.1", "GET", "/api/flow-runs", undefined, { cookie })).status).toBe(401);
    // Signing out again (an expired session, another tab) is fine.
    expect((await from("10.0.0.1", "DELETE", "/api/session", undefined, { cookie })).status).toBe(204);
  });

  it("refuses a wrong key naming the field, and after five failures refuses that address for a while, right key or not", async () => {
    const address = "10.0.0.66";
    for (let i = 0; i < 5; i++) expectError(await signIn(`wrong-key-${i}`, {}, address), 401, /^body\.apiKey: this API key is not valid on this server/);
    const limited = await signIn(ADMIN_KEY, {}, address);
    expectError(limited, 429, /too many failed sign-ins from 10\.0\.0\.66; try again in \d+ s/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.setCookie).toBe("");
    // Other addresses are not held back, and the API's own keys still work from the limited one.
    expect((await signIn(ADMIN_KEY, {}, "10.0.0.67")).status).toBe(200);
    expect((await from(address, "GET", "/api/flow-runs", undefined, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);
  });

  it("serves the dashboard's pages without a key, and nothing under /api", async () => {
    // A deep link of the dashboard: its page (or, without a build, the not-found answer), never a 401.
    const page = await from("10.0.0.1", "GET", "/runs/0190a7c2-1111-7000-8000-000000000000");
    expect(page.status).not.toBe(401);
    expect((await from("10.0.0.1", "GET", "/api/nothing-here")).status).toBe(401);
    expect((await from("10.0.0.1", "GET", "/api/health")).status).toBe(200);
    expect((await from("10.0.0.1", "GET", "/api/openapi.json")).status).toBe(200);
  });
});
