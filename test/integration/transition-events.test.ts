/**
 * The transition primitive's outbox, on SQLite and PostgreSQL: every flow-run transition, the
 * task-run transitions people must hear of, error log lines and dead workers leave an event in
 * the same commit, whoever made the change (the engine, claims, the late marker, the scheduler,
 * the crash sweep, deployment retries); a refused proposal changes nothing and emits nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, getRunLogger, task } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { EventRecord } from "../../src/core/event-records.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { slotRuns } from "../../src/services/scheduling.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(DIALECTS)("transition events on %s", (dialect) => {
  let engine: EngineDatabase;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;

  beforeAll(async () => {
    engine = await configureEngine(dialect);
    store = engine.store as KyselyStore;
    orchestration = new KyselyOrchestrationStore(store);
    await orchestration.upsertWorkPool({ name: "ev-pool" });
  });
  afterAll(() => engine.close());

  /** The events whose resource or related resources include `id`, in log order. */
  async function eventsOf(id: string): Promise<EventRecord[]> {
    const rows = await store.db
      .selectFrom("events")
      .selectAll("events")
      .where("seq", "in", (eb) => eb.selectFrom("event_resources").select("event_seq").where("resource_id", "=", id))
      .orderBy("seq")
      .execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), occurred: Number(r.occurred), received: Number(r.received), resource: JSON.parse(r.resource), related: JSON.parse(r.related), payload: JSON.parse(r.payload) }));
  }
  const names = (events: EventRecord[]) => events.map((e) => e.event);

  it("a flow run's transitions, its failed task and its error log lines are events, related to the flow and the run", async () => {
    const boom = task(async function evBoom() {
      throw new Error("disk full");
    });
    const chatty = task(async function evChatty() {
      return 1;
    }, { emitEvents: true });
    const f = flow(async function evFlow() {
      await chatty();
      getRunLogger().error("about to fail");
      await boom();
    }, { tags: ["nightly"] });
    const outcome = await f.run();
    expect(outcome.state.name).toBe("Failed");
    await (await getRuntime()).batcher.drain();
    const events = await eventsOf(outcome.id);
    const flowRunEvents = events.filter((e) => e.resource.id === outcome.id && e.event.startsWith("baton.flow-run."));
    expect(names(flowRunEvents)).toEqual(["baton.flow-run.Pending", "baton.flow-run.Running", "baton.flow-run.Failed"]);
    const failed = flowRunEvents.at(-1)!;
    expect(failed.resource).toMatchObject({ id: outcome.id, labels: { kind: "flow-run", "state-type": "FAILED" } });
    expect(failed.related).toEqual(expect.arrayContaining([expect.objectContaining({ role: "flow", name: "evFlow" }), { role: "tag", id: "nightly", name: "nightly" }]));
    expect(failed.payload).toMatchObject({ state: { name: "Failed" }, previous: { name: "Running" } });
    // Task runs: every transition of the one that asked, only the failure of the other.
    expect(names(events.filter((e) => e.event.startsWith("baton.task-run.")))).toEqual([
      "baton.task-run.Pending",
      "baton.task-run.Running",
      "baton.task-run.Completed",
      "baton.task-run.Failed",
    ]);
    expect(events.find((e) => e.event === "baton.task-run.Failed")!.resource.name).toBe("evBoom-0");
    expect(events.find((e) => e.event === "baton.log.error")!.payload).toMatchObject({ message: "about to fail", level: 50 });
  });

  it("claims, the late marker, the scheduler, cancel-new, the crash sweep and deployment retries emit through the primitive", async () => {
    const d = await orchestration.upsertDeployment({ name: "ev-dep", flowName: "evScheduled", entrypoint: "/x.ts:f", workPool: "ev-pool", retries: 1, retryDelayMs: 0 });
    expect(await orchestration.scheduleRuns(d, slotRuns(d, [Date.now() - 60_000]))).toBe(1);
    const [late] = await store.listFlowRuns({ deploymentId: d.id });
    expect(await orchestration.markLateRuns(Date.now(), 10_000)).toEqual([late!.id]);
    const [claimed] = await orchestration.claimFlowRuns("ev-pool", "ev-worker", 1, Date.now());
    expect(claimed!.id).toBe(late!.id);
    await orchestration.registerWorker({ id: "ev-worker", name: "w", poolName: "ev-pool", runLimit: 1, heartbeatMs: 100 });
    await orchestration.heartbeatWorker("ev-worker", Date.now() - 60_000);
    expect(await store.crashStaleFlowRuns(Date.now())).toEqual([late!.id]);
    const events = await eventsOf(late!.id);
    expect(names(events)).toEqual([
      "baton.flow-run.Scheduled",
      "baton.flow-run.Late",
      "baton.flow-run.Pending",
      "baton.flow-run.Crashed",
      "baton.flow-run.AwaitingRetry",
      "baton.worker.dead",
    ]);
    expect(events[2]!.related).toEqual(expect.arrayContaining([{ role: "worker", id: "ev-worker", name: null }, { role: "deployment", id: d.id, name: "ev-dep" }]));
    expect(events.at(-1)!).toMatchObject({ resource: { id: "ev-worker", name: "w" }, payload: { crashedRuns: [late!.id] } });
    // The Late run kept the time it was due.
    expect((await store.stateHistory(late!.id)).map((s) => s.name)).toEqual(["Scheduled", "Late", "Pending", "Crashed", "AwaitingRetry"]);

    const limited = await orchestration.upsertDeployment({ name: "ev-one", flowName: "evOne", entrypoint: "/x.ts:f", workPool: "ev-pool", concurrencyLimit: 1, collisionStrategy: "cancel-new" });
    const make = () =>
      store.createFlowRun({ id: newId(), flowName: "evOne", name: "o", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, entrypoint: "/x.ts:f", deploymentId: limited.id, workPool: "ev-pool", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }) });
    const first = await make();
    await orchestration.claimFlowRuns("ev-pool", "ev-worker-2", 5, Date.now());
    const second = await make();
    await orchestration.claimFlowRuns("ev-pool", "ev-worker-2", 5, Date.now());
    expect(names(await eventsOf(first.id))).toEqual(["baton.flow-run.Scheduled", "baton.flow-run.Pending"]);
    expect(names(await eventsOf(second.id))).toEqual(["baton.flow-run.Scheduled", "baton.flow-run.Cancelled"]);
  });

  it("a refused proposal changes nothing, emits nothing, and comes back as the one refusal", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "evRefused", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    const refused = await store.setFlowRunState(run.id, makeState("Completed"));
    expect(refused).toMatchObject({ accepted: false, rule: "CompletedFromPendingOnlyIfCached" });
    expect(names(await eventsOf(run.id))).toEqual(["baton.flow-run.Pending"]);
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Pending"]);
    await expect(store.createFlowRun({ id: newId(), flowName: "evRefused", name: "x", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Running") })).rejects.toMatchObject({
      name: "InvalidTransitionError",
      to: "Running",
      rule: "AllowedTypeTransitions",
    });
  });
});
