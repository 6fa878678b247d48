/**
 * Metric triggers on SQLite and PostgreSQL: a spec naming an unknown flow or deployment is a
 * 400 naming the field; a flow's failure rate crossing its threshold fires once with the value
 * measured (in the firing and the triggered event), a restarted
 * evaluator does not fire it again, and it fires again only after the rate dropped back; a
 * deployment's p95 duration and lateness (a run not started yet counting as late until now)
 * are measured in SQL by the service, and actions read the value from their templates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState, type StateName } from "../../src/core/states.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { KyselyAutomationStore } from "../../src/store/automation-store.ts";
import type { AutomationFiring } from "../../src/store/automation-types.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const MANUAL = { evaluateMs: HOUR, actionMs: HOUR };

describe.each(DIALECTS)("metric triggers on %s", (dialect) => {
  let api: ApiHarness;
  let deploymentId: string;
  const firings = async (name: string): Promise<AutomationFiring[]> => (await api.call("GET", `/api/automations/${name}/firings`)).body.items;
  const create = async (spec: Record<string, unknown>) => {
    const res = await api.call("POST", "/api/automations", spec);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; name: string };
  };

  /** A run of `flowName` that started `ms` before it ended, `endedAgo` ms ago, optionally of the deployment and expected to start at `expected`. */
  const finished = async (flowName: string, end: StateName, ms: number, fields: { endedAgo?: number; deployment?: boolean; expected?: number } = {}) => {
    const id = newId();
    const t = Date.now() - (fields.endedAgo ?? 1000);
    await api.store.createFlowRun({ id, flowName, name: `${flowName}-${id.slice(0, 6)}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending"), expectedStartTime: fields.expected ?? null });
    await api.store.setFlowRunState(id, makeState("Running", { timestamp: t - ms }));
    await api.store.setFlowRunState(id, makeState(end, { timestamp: t }), { error: end === "Failed" ? { name: "Error", message: "broke" } : null });
    if (fields.deployment) await api.store.db.updateTable("flow_runs").set({ deployment_id: deploymentId }).where("id", "=", id).execute();
    return id;
  };

  beforeAll(async () => {
    api = await apiHarness(dialect, { automationService: MANUAL });
    const orchestration = new KyselyOrchestrationStore(api.store);
    deploymentId = (await orchestration.upsertDeployment({ name: "nightly", flowName: "report", entrypoint: "flows.ts:report", parameters: {} })).id;
    await api.store.upsertFlow({ name: "etl" });
  });
  afterAll(async () => {
    await api?.server.automationService?.stop();
    await api?.close();
  });

  it("answers a metric trigger naming an unknown flow or deployment with a 400 naming the field", async () => {
    const spec = (of: Record<string, string>) => ({ name: "bad-metric", trigger: { metric: "failure-rate", of, window: "1h", op: ">", threshold: 0.5 }, actions: [{ type: "emit-event", event: "x.y", resource: { id: "r" } }] });
    let res = await api.call("POST", "/api/automations", spec({ flow: "no-such-flow" }));
    expectError(res, 400, /^body\.trigger\.of\.flow: flow "no-such-flow" does not exist/);
    expect(res.body.error.details.field).toBe("body.trigger.of.flow");
    res = await api.call("POST", "/api/automations", spec({ deployment: "ghost" }));
    expectError(res, 400, /^body\.trigger\.of\.deployment: deployment "ghost" does not exist/);
    res = await api.call("POST", "/api/automations", { ...spec({ flow: "etl" }), trigger: { ...spec({ flow: "etl" }).trigger, threshold: 50 } });
    expectError(res, 400, /^body\.trigger\.threshold: a failure rate is between 0 and 1/);
    expect((await api.call("GET", "/api/automations")).body.items).toEqual([]);
  });

  it("fires once when a flow's failure rate crosses, not again after a restart, and again after it dropped back", async () => {
    for (let i = 0; i < 4; i++) await finished("etl", "Completed", 100);
    // Outside the window: an old failure does not count.
    await finished("etl", "Failed", 100, { endedAgo: 2 * HOUR });
    const a = await create({
      name: "etl-failing",
      trigger: { metric: "failure-rate", of: { flow: "etl" }, window: "1h", op: ">", threshold: 0.3, minRuns: 3, every: "1m" },
      actions: [{ type: "emit-event", event: "x.y", resource: { id: "r" } }],
    });
    const store = new KyselyAutomationStore(api.store);
    const t0 = Date.now();
    expect(await store.evaluateMetricTriggers({ now: t0 })).toEqual({ measured: 1, firings: 0 });
    // Not due again before `every`.
    expect(await store.evaluateMetricTriggers({ now: t0 + 30_000 })).toEqual({ measured: 0, firings: 0 });

    for (let i = 0; i < 3; i++) await finished("etl", "Failed", 100);
    expect(await store.evaluateMetricTriggers({ now: t0 + MIN })).toEqual({ measured: 1, firings: 1 });
    const [firing, ...more] = await firings(a.name);
    expect(more).toEqual([]);
    expect(firing).toMatchObject({ reason: "metric", events: [], event: null, measurement: { metric: "failure-rate", runs: 7 } });
    expect(firing!.measurement!.value).toBeCloseTo(3 / 7, 6);
    const triggered = (await api.store.listEvents({ event: ["baton.automation.triggered"] })).items.filter((e) => e.resource.id === a.id);
    expect(triggered).toHaveLength(1);
    expect((triggered[0]!.payload as { measurement: { value: number } }).measurement.value).toBeCloseTo(3 / 7, 6);

    // Still above: no second firing, from this evaluator or a restarted one.
    expect(await store.evaluateMetricTriggers({ now: t0 + 2 * MIN })).toEqual({ measured: 1, firings: 0 });
    expect(await new KyselyAutomationStore(api.store).evaluateMetricTriggers({ now: t0 + 3 * MIN })).toEqual({ measured: 1, firings: 0 });
    expect(await firings(a.name)).toHaveLength(1);

    // Drops back below (3 of 17), then crosses again (8 of 22).
    for (let i = 0; i < 10; i++) await finished("etl", "Completed", 100);
    expect(await store.evaluateMetricTriggers({ now: t0 + 4 * MIN })).toEqual({ measured: 1, firings: 0 });
    for (let i = 0; i < 5; i++) await finished("etl", "Failed", 100);
    expect(await new KyselyAutomationStore(api.store).evaluateMetricTriggers({ now: t0 + 5 * MIN })).toEqual({ measured: 1, firings: 1 });
    const [second] = await firings(a.name);
    expect(second!.measurement).toMatchObject({ runs: 22 });
    expect(second!.measurement!.value).toBeCloseTo(8 / 22, 6);
    expect(await firings(a.name)).toHaveLength(2);
    await api.call("DELETE", `/api/automations/${a.name}`);
  });

  it("measures a deployment's p95 duration and lateness in seconds, and the service evaluates them", async () => {
    const now = Date.now();
    // Twenty runs of 1..20 s: nearest rank 95% is the 19th, 19 s. A Failed one of 500 s does not count.
    // (A deployment's runs each have their own expected start: one run per schedule slot.)
    for (let i = 1; i <= 20; i++) await finished("report", "Completed", i * 1000, { deployment: true, expected: now - 5 * MIN - i * 1000 });
    await finished("report", "Failed", 500_000, { deployment: true });
    // Another flow's runs are not the deployment's.
    await finished("etl", "Completed", 900_000);
    const slow = await create({
      name: "report-slow",
      trigger: { metric: "p95-duration", of: { deployment: "nightly" }, window: "1h", op: ">=", threshold: 19 },
      actions: [{ type: "emit-event", event: "test.metric", resource: { id: "nightly" }, payload: { seconds: "{{ firing.measurement.value }}", runs: "{{ firing.measurement.runs }}" } }],
    });

    // Lateness: each of the twenty started (ended − duration) later than expected; two runs due 10m ago have not started.
    for (let i = 0; i < 2; i++) {
      const id = newId();
      await api.store.createFlowRun({ id, flowName: "report", name: `stuck-${i}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Scheduled", { scheduledAt: now - 10 * MIN - i }), expectedStartTime: now - 10 * MIN - i });
      await api.store.db.updateTable("flow_runs").set({ deployment_id: deploymentId }).where("id", "=", id).execute();
    }
    const late = await create({ name: "report-late", trigger: { metric: "lateness", of: { deployment: "nightly" }, window: "1h", op: ">", threshold: 300 }, actions: [{ type: "emit-event", event: "x.y", resource: { id: "r" } }] });

    await api.server.automationService!.evaluate();
    const [slowFiring] = await firings(slow.name);
    expect(slowFiring!.measurement).toMatchObject({ metric: "p95-duration", value: 19, runs: 20 });
    const [lateFiring] = await firings(late.name);
    // 22 runs: rank 21 is one of the two not started, late by about ten minutes.
    expect(lateFiring!.measurement).toMatchObject({ metric: "lateness", runs: 22 });
    expect(lateFiring!.measurement!.value).toBeGreaterThanOrEqual(600);
    expect(lateFiring!.measurement!.value).toBeLessThan(700);
    // The action reads the measurement from its template.
    await api.server.automationService!.execute();
    expect((await api.store.listEvents({ event: ["test.metric"] })).items.map((e) => e.payload)).toEqual([{ seconds: 19, runs: 20 }]);
    // Measured again right away: not due, nothing more.
    await api.server.automationService!.evaluate();
    expect(await firings(slow.name)).toHaveLength(1);
  });
});
