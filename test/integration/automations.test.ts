/**
 * Automations through the API on SQLite and PostgreSQL: bad specs are a 400 naming the field
 * with nothing stored; a threshold window fires once; for_each keeps a window per flow; a
 * proactive trigger fires once when its deadline passes; a new evaluator on the same database
 * (a restart) fires no window twice; a run-deployment fills its parameters from the event; a
 * failing webhook action is retried with backoff, then recorded failed with an event.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import type { NewEvent } from "../../src/core/event-records.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { KyselyAutomationStore } from "../../src/store/automation-store.ts";
import { KyselyNotificationChannelStore } from "../../src/store/notification-channel-store.ts";
import type { AutomationFiring } from "../../src/store/automation-types.ts";
import { startAutomationService } from "../../src/server/automation-service.ts";
import { KyselyAuditLog } from "../../src/store/audit-log.ts";
import { KyselyModelStore } from "../../src/store/model-store.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";

const HOUR = 3_600_000;
/** Timers that never tick during a test: each test drives the service itself. */
const MANUAL = { evaluateMs: HOUR, actionMs: HOUR, actionBackoffMs: 20, actionBackoffMaxMs: 100, actionAttempts: 3 };
const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => quiet, level: "silent", silent() {} } as never;

const event = (name: string, fields: Partial<NewEvent> = {}): NewEvent => ({ id: newId(), occurred: Date.now(), event: name, resource: { id: "r" }, related: [], payload: {}, ...fields });
const emitAction = { type: "emit-event", event: "test.reacted", resource: { id: "{{ firing.id }}" } };

describe.each(DIALECTS)("automations on %s", (dialect) => {
  let api: ApiHarness;
  let orchestration: KyselyOrchestrationStore;
  const service = () => api.server.automationService!;
  const firings = async (name: string): Promise<AutomationFiring[]> => (await api.call("GET", `/api/automations/${name}/firings`)).body.items;
  const create = async (spec: Record<string, unknown>) => {
    const res = await api.call("POST", "/api/automations", spec);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; name: string };
  };

  beforeAll(async () => {
    api = await apiHarness(dialect, { automationService: MANUAL });
    orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertDeployment({ name: "train", flowName: "train", entrypoint: "flows.ts:train", parameters: { epochs: 3 } });
  });
  afterAll(async () => {
    await api?.server.automationService?.stop();
    await api?.close();
  });

  it("answers a spec that cannot work with a 400 naming the field, and stores nothing", async () => {
    const good = { name: "bad", trigger: { event: "data.arrived" }, actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ event.payload.key }}" } }] };
    const cases: [unknown, RegExp][] = [
      [{ ...good, colour: "red" }, /^body\.colour is not a field here/],
      [{ ...good, trigger: { event: "data.arrived", threshhold: 2 } }, /^body\.trigger\.threshhold is not a field here/],
      [{ ...good, actions: [{ type: "run-deployment", deployment: "no-such" }] }, /^body\.actions\[0\]\.deployment: deployment "no-such" does not exist/],
      [{ ...good, trigger: { event: "baton.flow-run.Failed", match: { related: [{ role: "deployment", name: "ghost" }] } } }, /^body\.trigger\.match\.related\[0\]: deployment "ghost" does not exist \(the trigger could never match\)/],
      [{ ...good, actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ payload.key }}" } }] }, /^body\.actions\[0\]\.parameters\.key: .*refers to "payload"/],
      [{ ...good, actions: [{ type: "page-someone", channel: "slack" }] }, /^body\.actions\[0\]\.type must be one of run-deployment, .*call-webhook, notify/],
      [{ ...good, trigger: { event: "x", within: "soon" } }, /^body\.trigger\.within must be a duration/],
    ];
    for (const [spec, message] of cases) {
      const res = await api.call("POST", "/api/automations", spec);
      expectError(res, 400, message);
      expect(res.body.error.details.field).toMatch(/^body\./);
    }
    expect((await api.call("GET", "/api/automations")).body.items).toEqual([]);
    expect((await api.store.listEvents({ event: ["baton.automation.*"] })).items).toEqual([]);
    await create(good);
    expectError(await api.call("POST", "/api/automations", good), 409, /an automation named "bad" already exists/);
    expect((await api.call("DELETE", "/api/automations/bad")).status).toBe(204);
  });

  it("fires a threshold of 3 within 10m once per window, and records the firing, its events and its actions", async () => {
    const a = await create({ name: "three-failures", trigger: { event: "etl.failed", threshold: 3, within: "10m" }, actions: [emitAction] });
    const sent = [1, 2, 3, 4, 5].map(() => event("etl.failed"));
    await api.store.emitEvents([event("etl.other"), ...sent]);
    await service().evaluate();
    await service().evaluate();
    const [firing, ...more] = await firings(a.name);
    expect(more).toEqual([]);
    expect(firing!.events.map((e) => e.id)).toEqual(sent.slice(0, 3).map((e) => e.id));
    expect(firing!.actions).toMatchObject([{ index: 0, type: "emit-event", status: "pending", attempts: 0 }]);
    await service().execute();
    const [done] = await firings(a.name);
    expect(done!.actions[0]).toMatchObject({ status: "succeeded", attempts: 1, outcomes: [{ attempt: 1, ok: true }] });
    expect((await api.store.listEvents({ event: ["test.reacted"], resource: firing!.id })).items).toHaveLength(1);
    const triggered = (await api.store.listEvents({ event: ["baton.automation.triggered"], resource: a.id })).items;
    expect(triggered).toHaveLength(1);
    expect(triggered[0]!.related).toEqual(expect.arrayContaining([{ role: "automation-firing", id: firing!.id, name: null }, { role: "triggering-event", id: sent[0]!.id, name: "etl.failed" }]));
    const listed = (await api.call("GET", "/api/automations")).body.items.find((x: { name: string }) => x.name === a.name);
    expect(listed.lastFiring.id).toBe(firing!.id);
  });

  it("keeps a window per for_each value: one firing per flow", async () => {
    const a = await create({ name: "per-flow", trigger: { event: "job.failed", threshold: 2, within: "1h", for_each: "related.flow" }, actions: [emitAction] });
    const of = (flow: string) => event("job.failed", { related: [{ role: "flow", id: flow, name: flow }] });
    await api.store.emitEvents([of("a"), of("b"), of("b"), of("a"), of("c")]);
    await service().evaluate();
    expect((await firings(a.name)).map((f) => f.bucket).sort()).toEqual(["a", "b"]);
  });

  it("reads only the for_each buckets a batch touches, and prunes the idle ones of reactive triggers", async () => {
    const a = await create({ name: "per-run", trigger: { event: "step.failed", threshold: 2, within: "1s", for_each: "related.flow-run" }, actions: [emitAction] });
    const b = await create({ name: "per-run-slow", trigger: { event: "step.failed", threshold: 5, within: "1h", for_each: "related.flow-run" }, actions: [emitAction] });
    const c = await create({ name: "per-run-expected", trigger: { event: "step.failed", posture: "proactive", within: "1h", for_each: "related.flow-run" }, actions: [emitAction] });
    const of = (run: string) => event("step.failed", { related: [{ role: "flow-run", id: run }] });
    await api.store.emitEvents(Array.from({ length: 40 }, (_, i) => of(`run-${i}`)));
    await service().evaluate();
    // A later batch names one run: its bucket is read back and completes the window.
    await api.store.emitEvents([of("run-7")]);
    await service().evaluate();
    expect((await firings(a.name)).map((f) => f.bucket)).toEqual(["run-7"]);
    const count = async (id: string) => (await api.store.db.selectFrom("automation_buckets").select("bucket").where("automation_id", "=", id).execute()).length;
    expect([await count(a.id), await count(b.id), await count(c.id)]).toEqual([40, 40, 40]);

    const automations = new KyselyAutomationStore(api.store);
    // Two seconds on: per-run's events left its 1 s window; per-run-slow's are inside its hour;
    // a proactive bucket is what fires on absence, so it stays.
    const pruned = await automations.pruneIdleBuckets({ now: Date.now() + 2000, idleMs: 0 });
    // (and the buckets of earlier tests' automations whose windows fired and emptied)
    expect(pruned).toBeGreaterThanOrEqual(40);
    expect([await count(a.id), await count(b.id), await count(c.id)]).toEqual([0, 40, 40]);
    // Nothing changes for the next events: a pruned bucket starts empty, as it would have.
    await api.store.emitEvents([of("run-3"), of("run-3")]);
    await service().evaluate();
    expect((await firings(a.name)).map((f) => f.bucket).sort()).toEqual(["run-3", "run-7"]);
    // A bucket written within idleMs is not looked at.
    expect(await automations.pruneIdleBuckets({ now: Date.now() + 2000 })).toBe(0);
    for (const x of [a, b, c]) await api.call("DELETE", `/api/automations/${x.name}`);
  });

  it("refuses a run-deployment action whose parameters reference a missing variable, naming the field, and starts no run", async () => {
    const a = await create({ name: "refs-checked", trigger: { event: "refs.arrived" }, actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ event.payload.key }}" } }] });
    await api.store.emitEvents([event("refs.arrived", { payload: { key: "{{ variables.nope }}" } })]);
    await service().evaluate();
    await service().execute();
    const [firing] = await firings(a.name);
    expect(firing!.actions[0]).toMatchObject({ status: "failed" });
    expect(firing!.actions[0]!.outcomes.at(-1)!.error).toMatch(/^actions\[0\]\.parameters\.key: variable "nope" does not exist/);
    expect(await api.store.listFlowRuns({ tags: [`automation:${a.name}`] })).toEqual([]);
  });

  it("fires a proactive trigger once when its deadline passes without the event", async () => {
    const a = await create({ name: "nightly-missing", trigger: { event: "nightly.completed", posture: "proactive", within: "1s" }, actions: [emitAction] });
    await service().evaluate();
    expect(await firings(a.name)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    await service().evaluate();
    await service().evaluate();
    const fired = await firings(a.name);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ reason: "absence", event: null, events: [] });
    // The event coming in the next window keeps it from firing.
    await api.store.emitEvents([event("nightly.completed")]);
    await service().evaluate();
    await new Promise((r) => setTimeout(r, 600));
    await service().evaluate();
    expect(await firings(a.name)).toHaveLength(1);
    await api.call("POST", `/api/automations/${a.name}/pause`);
  });

  it("fires no window twice when the evaluator stops mid-stream and another starts on the same database", async () => {
    const a = await create({ name: "restart", trigger: { event: "restart.tick", threshold: 3, within: "10m" }, actions: [emitAction] });
    const sent = [1, 2, 3, 4, 5, 6, 7].map(() => event("restart.tick"));
    await api.store.emitEvents(sent);
    // The server's own evaluator reads part of the log, then stops.
    const first = await new KyselyAutomationStore(api.store).evaluateAutomations({ limit: 2 });
    expect(first).toMatchObject({ events: 2, firings: 0, caughtUp: false });
    await service().stop();
    // Two new evaluators (a restarted process, and a second server) share the rest.
    const deps = { store: api.store, orchestration, channels: new KyselyNotificationChannelStore(api.store), refs: { hasVariable: async () => false, hasSecret: async () => false }, values: { variable: async () => undefined, secret: async () => undefined }, publicUrl: () => "http://127.0.0.1:4200", audit: new KyselyAuditLog(api.store), models: new KyselyModelStore(api.store) };
    const [b, c] = [startAutomationService(new KyselyAutomationStore(api.store), deps, MANUAL, quiet), startAutomationService(new KyselyAutomationStore(api.store), deps, MANUAL, quiet)];
    await Promise.all([b.evaluate(), c.evaluate(), b.evaluate(), c.evaluate()]);
    const fired = await firings(a.name);
    expect(fired.map((f) => f.events.map((e) => e.id))).toEqual([[sent[3]!.id, sent[4]!.id, sent[5]!.id], [sent[0]!.id, sent[1]!.id, sent[2]!.id]]);
    await Promise.all([b.stop(), c.stop()]);
    api.server.automationService = startAutomationService(new KyselyAutomationStore(api.store), deps, MANUAL, quiet);
  });

  it("starts a deployment's run with parameters from the event, once even when the action is run again", async () => {
    const a = await create({
      name: "train-on-new-data",
      trigger: { event: "data.arrived" },
      actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ event.payload.key }}", note: "file {{ event.payload.key }}" } }],
    });
    await api.store.emitEvents([event("data.arrived", { payload: { key: "raw/2026-12-03.csv" } })]);
    await service().evaluate();
    await service().execute();
    const [firing] = await firings(a.name);
    expect(firing!.actions[0]).toMatchObject({ status: "succeeded", outcomes: [{ ok: true, result: { deployment: "train", parameters: { key: "raw/2026-12-03.csv" } } }] });
    const deployment = await orchestration.getDeployment("train");
    const runs = await api.store.listFlowRuns({ deploymentId: deployment!.id });
    expect(runs).toHaveLength(1);
    expect(runs[0]!.parameters).toEqual({ epochs: 3, key: "raw/2026-12-03.csv", note: "file raw/2026-12-03.csv" });
    expect(runs[0]!.tags).toContain("automation:train-on-new-data");
    // An executor that died after making the run, before recording it: the next attempt finds the run.
    await api.store.db.updateTable("automation_actions").set({ status: "running", next_attempt_at: 0 }).where("id", "=", firing!.actions[0]!.id).execute();
    await service().execute();
    expect(await api.store.listFlowRuns({ deploymentId: deployment!.id })).toHaveLength(1);
    await api.call("DELETE", `/api/automations/${a.name}`);
  });

  it("fails a template path with no value for good, naming it", async () => {
    const a = await create({ name: "missing-path", trigger: { event: "path.test" }, actions: [{ type: "run-deployment", deployment: "train", parameters: { key: "{{ event.payload.nope }}" } }] });
    await api.store.emitEvents([event("path.test")]);
    await service().evaluate();
    await service().execute();
    const [firing] = await firings(a.name);
    expect(firing!.actions[0]).toMatchObject({ status: "failed", attempts: 1, outcomes: [{ ok: false, error: expect.stringContaining("actions[0].parameters.key: {{ event.payload.nope }} has no value") }] });
  });

  describe("a webhook action against a server that fails", () => {
    let hook: http.Server;
    let calls = 0;
    beforeAll(async () => {
      hook = http.createServer((req, res) => {
        calls++;
        req.resume();
        res.writeHead(503).end("down for maintenance");
      });
      await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    });
    afterAll(() => new Promise<void>((r) => hook.close(() => r())));

    it("is retried with backoff, then recorded failed with a baton.automation.action-failed event", async () => {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      const a = await create({ name: "hook", trigger: { event: "hook.test" }, actions: [{ type: "call-webhook", url, payload: { key: "{{ event.payload.key }}" }, timeout: "2s" }] });
      await api.store.emitEvents([event("hook.test", { payload: { key: "k" } })]);
      await service().evaluate();
      const deadline = Date.now() + 10_000;
      let status = "pending";
      while (status !== "failed" && Date.now() < deadline) {
        await service().execute();
        status = (await firings(a.name))[0]!.actions[0]!.status;
        await new Promise((r) => setTimeout(r, 30));
      }
      const [firing] = await firings(a.name);
      expect(firing!.actions[0]).toMatchObject({ status: "failed", attempts: 3 });
      expect(firing!.actions[0]!.outcomes.map((o) => o.error)).toEqual(Array(3).fill(`actions[0]: POST ${url} answered 503: down for maintenance`));
      const times = firing!.actions[0]!.outcomes.map((o) => o.at);
      // Backoff 20 ms, doubling: no attempt came before its wait was over.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(20);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(40);
      expect(calls).toBe(3);
      const failed = (await api.store.listEvents({ event: ["baton.automation.action-failed"], resource: a.id })).items;
      expect(failed).toHaveLength(1);
      expect(failed[0]!.payload).toMatchObject({ type: "call-webhook", attempts: 3, error: expect.stringContaining("answered 503") });
    });
  });

  it("pauses, resumes, replaces and deletes, each with its event", async () => {
    const a = await create({ name: "lifecycle", trigger: { event: "life.x" }, actions: [emitAction] });
    expect((await api.call("POST", "/api/automations/lifecycle/pause")).body.paused).toBe(true);
    await api.store.emitEvents([event("life.x")]);
    await service().evaluate();
    expect(await firings(a.name)).toEqual([]);
    expect((await api.call("POST", `/api/automations/${a.id}/resume`)).body.paused).toBe(false);
    const replaced = await api.call("PATCH", "/api/automations/lifecycle", { description: "changed" });
    expect(replaced.body.spec).toMatchObject({ description: "changed", trigger: { event: "life.x" } });
    expectError(await api.call("PUT", "/api/automations/lifecycle", { name: "lifecycle", trigger: { event: "life.x" }, actions: [] }), 400, /body\.actions/);
    const detail = (await api.call("GET", "/api/automations/lifecycle")).body;
    expect(detail).toMatchObject({ name: "lifecycle", paused: false, firings: [] });
    expect((await api.call("DELETE", "/api/automations/lifecycle")).status).toBe(204);
    expect((await api.call("GET", "/api/automations/lifecycle")).status).toBe(404);
    const changes = (await api.store.listEvents({ event: ["baton.automation.*"], resource: a.id, order: "oldest" })).items.map((e) => e.event);
    expect(changes).toEqual(["baton.automation.created", "baton.automation.paused", "baton.automation.resumed", "baton.automation.updated", "baton.automation.deleted"]);
  });
});
