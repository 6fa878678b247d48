/**
 * The audit log on SQLite and PostgreSQL: every mutating call, sign-in and automatic run is
 * appended with who did it; admins alone read it; no route changes it; concurrent appenders (two
 * servers on one database) keep one chain; editing or deleting a row in the database is named by
 * verification.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { apiHarness, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServerProcess, stopProcess } from "../support/processes.ts";
import { openStore } from "../../src/store/open.ts";
import { KyselyAuditLog } from "../../src/store/audit-log.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { runSchedulerPass } from "../../src/services/scheduling.ts";
import type { AuditEntry } from "../../src/schemas/audit.ts";
import type { NewAuditEntry } from "../../src/core/audit-chain.ts";

const ADMIN = "admin-key-for-audit";
const WORKER = "worker-key-for-audit";
const admin = { authorization: `Bearer ${ADMIN}` };
const worker = { authorization: `Bearer ${WORKER}` };
const HOUR = 3_600_000;

function entry(i: number): NewAuditEntry {
  return { at: Date.now(), actor: { kind: "schedule", id: `s${i}`, name: "test", role: null }, action: "test.append", targets: [`t${i}`], status: null, outcome: "success", clientIp: null, requestId: null, detail: { i } };
}

describe.each(DIALECTS)("audit log on %s", (dialect) => {
  let api: ApiHarness;
  const entries = async (query = ""): Promise<AuditEntry[]> => (await api.call("GET", `/api/audit?limit=1000${query}`, undefined, admin)).body.items;
  /** The entry of the call with this request id, once the writer committed it. */
  const entryOf = (requestId: unknown) =>
    vi.waitFor(
      async () => {
        const found = (await entries()).find((e) => e.requestId === requestId);
        if (!found) throw new Error(`no audit entry for request ${String(requestId)} yet`);
        return found;
      },
      { timeout: 5000, interval: 20 },
    );

  beforeAll(async () => {
    api = await apiHarness(dialect, { apiKeys: [`admin:${ADMIN}`, `worker:${WORKER}`], automationService: { evaluateMs: HOUR, actionMs: HOUR }, schedulerMs: HOUR });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("appends a mutating call with who, what, targets (the created id too), outcome, client address and request id", async () => {
    const created = await api.call("POST", "/api/flow-runs", { flowName: "audited", parameters: { n: 1 } }, admin);
    expect(created.status).toBe(201);
    const e = await entryOf(created.headers["x-request-id"]);
    expect(e).toMatchObject({
      actor: { kind: "static-key", role: "admin", id: expect.stringMatching(/^[0-9a-f]{12}$/) },
      action: "POST /api/flow-runs",
      status: 201,
      outcome: "success",
      clientIp: "127.0.0.1",
      targets: [created.body.id],
    });
    expect(e.actor.id).not.toContain(ADMIN);
    const cancelled = await api.call("POST", `/api/flow-runs/${created.body.id}/cancel`, {}, admin);
    expect((await entryOf(cancelled.headers["x-request-id"])).targets).toContain(created.body.id);
    // Reads are not audited.
    const read = await api.call("GET", `/api/flow-runs/${created.body.id}`, undefined, admin);
    await new Promise((r) => setTimeout(r, 100));
    expect((await entries()).some((x) => x.requestId === read.headers["x-request-id"])).toBe(false);
  });

  it("appends refused and denied calls too: no key, a worker key on an admin route, a bad body", async () => {
    const anonymous = await api.call("POST", "/api/flow-runs", { flowName: "x" });
    expect(anonymous.status).toBe(401);
    expect(await entryOf(anonymous.headers["x-request-id"])).toMatchObject({ actor: { kind: "anonymous", id: null }, outcome: "denied", status: 401 });
    const denied = await api.call("POST", "/api/deployments", { name: "d", flowName: "f", entrypoint: "f.ts:f" }, worker);
    expect(denied.status).toBe(403);
    expect(await entryOf(denied.headers["x-request-id"])).toMatchObject({ actor: { role: "worker" }, action: "POST /api/deployments", outcome: "denied" });
    const bad = await api.call("POST", "/api/flow-runs", { flowName: 7 }, admin);
    expect(await entryOf(bad.headers["x-request-id"])).toMatchObject({ outcome: "refused", status: 400 });
  });

  it("appends sign-ins (naming the key) and sign-outs, failed ones included", async () => {
    const signIn = await api.call("POST", "/api/session", { apiKey: ADMIN });
    expect(signIn.status).toBe(200);
    expect(await entryOf(signIn.headers["x-request-id"])).toMatchObject({ action: "sign-in", outcome: "success", actor: { kind: "static-key", role: "admin" } });
    const wrong = await api.call("POST", "/api/session", { apiKey: "not-a-key-at-all" });
    expect(await entryOf(wrong.headers["x-request-id"])).toMatchObject({ action: "sign-in", outcome: "denied", actor: { kind: "anonymous" } });
    const signOut = await api.call("DELETE", "/api/session");
    expect(await entryOf(signOut.headers["x-request-id"])).toMatchObject({ action: "sign-out", status: 204 });
  });

  it("only admins read it: no key 401, a worker key 403; it filters by actor, action, target and outcome", async () => {
    expect((await api.call("GET", "/api/audit")).status).toBe(401);
    expect((await api.call("GET", "/api/audit", undefined, worker)).status).toBe(403);
    expect((await api.call("GET", "/api/audit/verify", undefined, worker)).status).toBe(403);
    const all = await entries();
    const denied = await entries("&outcome=denied");
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((e) => e.outcome === "denied")).toBe(true);
    expect((await entries("&action=sign-")).every((e) => e.action.startsWith("sign-"))).toBe(true);
    const adminId = all.find((e) => e.actor.role === "admin")!.actor.id!;
    expect((await entries(`&actor=${adminId}`)).every((e) => e.actor.id === adminId)).toBe(true);
    const target = all.find((e) => e.targets.length)!.targets[0]!;
    expect((await entries(`&target=${target}`)).every((e) => e.targets.includes(target))).toBe(true);
    // A LIKE wildcard is a character, not a pattern.
    expect(await entries("&target=%25")).toEqual([]);
    const page = (await api.call("GET", "/api/audit?limit=2", undefined, admin)).body;
    expect(page.items).toHaveLength(2);
    const next = (await api.call("GET", `/api/audit?limit=2&before=${page.nextBefore}`, undefined, admin)).body;
    expect(next.items[0].seq).toBeLessThan(page.items[1].seq);
    expect((await api.call("GET", "/api/audit?since=-1", undefined, admin)).body.error.message).toMatch(/querystring\.since/);
  });

  it("no route can change or delete a row", async () => {
    const writes = api.server.routes.filter((r) => r.url.startsWith("/api/audit") && !["GET", "HEAD"].includes(r.method));
    expect(writes).toEqual([]);
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) for (const url of ["/api/audit", "/api/audit/1", "/api/audit/verify"]) expect((await api.call(method, url, {}, admin)).status).toBe(404);
  });

  it("records the runs a schedule makes, with the schedule as their actor, in the same transaction", async () => {
    const created = await api.call("POST", "/api/deployments", { name: "hourly", flowName: "hourly", entrypoint: "f.ts:hourly", schedules: [{ spec: { kind: "interval", intervalMs: 600_000 } }] }, admin);
    expect(created.status).toBe(201);
    const orchestration = new KyselyOrchestrationStore(api.store);
    const pass = await runSchedulerPass(orchestration, { scheduleHorizonMs: HOUR, scheduleMaxRuns: 3, lateAfterMs: HOUR, deployment: "hourly" });
    expect(pass.created).toBe(3);
    // Again: no new runs, no new entries.
    expect((await runSchedulerPass(orchestration, { scheduleHorizonMs: HOUR, scheduleMaxRuns: 3, lateAfterMs: HOUR, deployment: "hourly" })).created).toBe(0);
    const scheduled = await entries("&action=flow-run.scheduled");
    expect(scheduled).toHaveLength(3);
    const runs = await api.store.listFlowRuns({ deploymentId: created.body.id, limit: 10 });
    expect(new Set(scheduled.map((e) => e.targets[0]))).toEqual(new Set(runs.map((r) => r.id)));
    expect(scheduled[0]).toMatchObject({ actor: { kind: "schedule", id: created.body.schedules[0].id, role: null }, detail: { deployment: "hourly", slot: expect.any(Number) } });
  });

  it("records the runs an automation starts, with the automation and its triggering event", async () => {
    await api.call("POST", "/api/deployments", { name: "on-data", flowName: "on-data", entrypoint: "f.ts:on-data" }, admin);
    const automation = await api.call("POST", "/api/automations", { name: "start-on-data", trigger: { event: "audit.data" }, actions: [{ type: "run-deployment", deployment: "on-data" }] }, admin);
    expect(automation.status).toBe(201);
    const emitted = await api.call("POST", "/api/events", [{ event: "audit.data", resource: { id: "dataset-1" } }], admin);
    expect(emitted.status).toBe(201);
    await api.server.automationService!.evaluate();
    await api.server.automationService!.execute();
    const [started] = await entries("&action=flow-run.automation");
    expect(started).toMatchObject({
      actor: { kind: "automation", id: automation.body.id, name: "start-on-data", role: null },
      detail: { deployment: "on-data", event: { id: emitted.body.ids[0], event: "audit.data", resource: "dataset-1" } },
    });
    const run = await api.store.getFlowRun(started!.targets[0]!);
    expect(run?.deploymentId).toBeTruthy();
  });

  it("concurrent appenders keep one chain (on PostgreSQL through two stores)", async () => {
    // Two SQLite connections in one process would block each other's event loop on the file's
    // write lock: there, the appends share one store here, and processes share the file below.
    const other = dialect === "postgres" ? await openStore(api.url) : api.store;
    try {
      const [a, b] = [new KyselyAuditLog(api.store), new KyselyAuditLog(other)];
      const before = (await a.verify()).checked;
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append([entry(i), entry(i + 100)])));
      const result = await a.verify();
      expect(result).toMatchObject({ ok: true, broken: null });
      expect(result.checked).toBe(before + 80);
      const seqs = (await a.list({ limit: 1000 })).items.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(Math.max(...seqs)).toBe(seqs.length);
    } finally {
      if (other !== api.store) await other.close();
    }
  });

  it("two server processes on one database serving mutating calls at once keep one chain", async () => {
    const env = { BATON_DATABASE_URL: api.url, BATON_SERVER_API_KEYS: `admin:${ADMIN}`, BATON_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "baton-audit-")) };
    // One after the other: two starts at once on a loaded machine can outlast the start's timeout.
    const servers = [await startServerProcess(env), await startServerProcess(env)];
    try {
      const put = (i: number) => fetch(`${servers[i % 2]!.url}/api/variables/audit-${i}`, { method: "PUT", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ value: i }) });
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => put(i)));
      expect(answers.map((a) => a.status)).toEqual(Array(60).fill(201));
      await vi.waitFor(async () => expect(await entries(`&action=${encodeURIComponent("PUT /api/variables/:name")}`)).toHaveLength(60), { timeout: 10_000, interval: 50 });
      const result = await new KyselyAuditLog(api.store).verify();
      expect(result).toMatchObject({ ok: true, broken: null });
      expect(result.head!.seq).toBe(result.checked);
    } finally {
      await Promise.all(servers.map((s) => stopProcess(s.proc)));
      fs.rmSync(env.BATON_HOME, { recursive: true, force: true });
    }
  }, 180_000);

  it("editing or deleting a row in the database makes verification fail naming it", async () => {
    const verify = async () => (await api.call("GET", "/api/audit/verify", undefined, admin)).body;
    expect(await verify()).toMatchObject({ ok: true, broken: null });
    const { checked } = await verify();
    expect(checked).toBeGreaterThan(10);
    await sql`update audit_log set actor_name = 'someone else' where seq = 5`.execute(api.store.db);
    expect(await verify()).toMatchObject({ ok: false, checked: 4, broken: { seq: 5, reason: expect.stringMatching(/edited/) } });
    await sql`delete from audit_log where seq = 5`.execute(api.store.db);
    expect(await verify()).toMatchObject({ ok: false, checked: 4, broken: { seq: 6, reason: expect.stringMatching(/row 5 is missing/) } });
  });
});
