/**
 * A run's compliance report on SQLite and PostgreSQL: its trigger, the first source record, its
 * audit entries and the chain's verdict; the same bytes every time in every format, through the
 * service and the API; admin keys only.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { apiHarness, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";
import { flowRunSourceEvent } from "../../src/core/source-events.ts";
import { KyselyAuditLog } from "../../src/store/audit-log.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { buildRunReport, type RunReportSources } from "../../src/services/run-report.ts";
import { renderRunReport } from "../../src/services/run-report-render.ts";

const ADMIN = "admin-key-for-reports";
const WORKER = "worker-key-for-reports";
const admin = { authorization: `Bearer ${ADMIN}` };
const HOUR = 3_600_000;
const SOURCE = { entrypoint: "flows.ts:rep", sourceSha256: "a".repeat(64), lockFile: "package-lock.json", lockSha256: "b".repeat(64) };

describe.each(DIALECTS)("run reports on %s", (dialect) => {
  let api: ApiHarness;
  let sources: RunReportSources;
  let runId: string;
  const raw = async (url: string, headers: Record<string, string> = admin) => api.server.app.inject({ method: "GET", url, headers });

  beforeAll(async () => {
    api = await apiHarness(dialect, { apiKeys: [`admin:${ADMIN}`, `worker:${WORKER}`], automationService: false, schedulerMs: HOUR });
    const audit = new KyselyAuditLog(api.store);
    sources = { runs: api.store, deployments: new KyselyOrchestrationStore(api.store), audit };
    expect((await api.call("POST", "/api/deployments", { name: "rep", flowName: "rep", entrypoint: "flows.ts:rep", version: "1.2.3" }, admin)).status).toBe(201);
    const run = await api.call("POST", "/api/deployments/rep/runs", { parameters: { b: 2, a: 1 } }, admin);
    expect(run.status).toBe(201);
    runId = run.body.id;
    await api.store.emitEvents([flowRunSourceEvent(run.body, SOURCE)]);
    // A later record (code posing as the runner) does not replace the first.
    await api.store.emitEvents([flowRunSourceEvent(run.body, { ...SOURCE, sourceSha256: "c".repeat(64) }, Date.now() + 1000)]);
    await vi.waitFor(async () => expect((await audit.entriesTouching(runId)).length).toBe(1), { timeout: 5000, interval: 20 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("names the trigger, the deployment and version, the first source record, the parameters' hash and the audit entries", async () => {
    const report = await buildRunReport(sources, runId);
    expect(report.trigger).toMatchObject({ kind: "caller", action: "POST /api/deployments/:name/runs", actor: { kind: "static-key", role: "admin" }, message: "created from the deployment" });
    expect(report.deployment).toMatchObject({ name: "rep", flowVersion: "1.2.3", entrypoint: "flows.ts:rep" });
    expect(report.source).toMatchObject(SOURCE);
    expect(report.parameters).toEqual({ b: 2, a: 1 });
    // Canonical: the same parameters in another key order hash the same.
    expect(report.parametersSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.audit.entries).toHaveLength(1);
    expect(report.audit.chain).toEqual({ ok: true, throughSeq: report.audit.entries[0]!.seq, broken: null });
    expect(report.stateHistory.map((s) => s.name)).toEqual(["Scheduled"]);
  });

  it("renders the same bytes twice in every format, through the service and the API", async () => {
    for (const format of ["md", "json", "pdf"] as const) {
      const [a, b] = [await renderRunReport(await buildRunReport(sources, runId), format), await renderRunReport(await buildRunReport(sources, runId), format)];
      expect(Buffer.from(a.body).equals(Buffer.from(b.body)), format).toBe(true);
      // More calls in between (audited) do not change it: it is verified through the run's last entry.
      await api.call("PUT", `/api/variables/between-${format}`, { value: 1 }, admin);
      const [x, y] = [await raw(`/api/flow-runs/${runId}/report?format=${format}`), await raw(`/api/flow-runs/${runId}/report?format=${format}`)];
      expect(x.statusCode, x.body).toBe(200);
      expect(x.rawPayload.equals(y.rawPayload)).toBe(true);
      expect(x.rawPayload.equals(Buffer.from(a.body))).toBe(true);
      expect(x.headers["content-type"]).toMatch({ md: /^text\/markdown/, json: /^application\/json/, pdf: /^application\/pdf/ }[format]);
      expect(x.headers["content-disposition"]).toBe(`attachment; filename="baton-run-${runId}-report.${format}"`);
    }
    const pdf = (await raw(`/api/flow-runs/${runId}/report?format=pdf`)).rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("is for admins; a bad format or an unknown run is a 4xx naming it", async () => {
    expect((await raw(`/api/flow-runs/${runId}/report`, {})).statusCode).toBe(401);
    expect((await raw(`/api/flow-runs/${runId}/report`, { authorization: `Bearer ${WORKER}` })).statusCode).toBe(403);
    const bad = await api.call("GET", `/api/flow-runs/${runId}/report?format=docx`, undefined, admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/querystring\.format/);
    const missing = await api.call("GET", "/api/flow-runs/no-such-run/report", undefined, admin);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/no-such-run/);
  });

  it("says the chain is broken when a row before the run's last entry was edited", async () => {
    await sql`update audit_log set outcome = 'denied' where seq = 1`.execute(api.store.db);
    const report = await buildRunReport(sources, runId);
    expect(report.audit.chain).toMatchObject({ ok: false, broken: { seq: 1 } });
    const md = (await renderRunReport(report, "md")).body as string;
    expect(md).toMatch(/Audit chain: \*\*BROKEN\*\* at row 1/);
  });
});
