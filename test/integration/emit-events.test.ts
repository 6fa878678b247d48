/**
 * Events that are not run transitions, on SQLite and PostgreSQL: changes of deployments, work
 * pools, queues and concurrency limits append theirs in the change's transaction, and
 * `emitEvent` from user code — inside a run related to it and carried by its write batch,
 * outside a run stored at once — with TypeErrors naming the argument.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitEvent, flow, task } from "../../src/index.ts";
import type { EventRecord } from "../../src/core/event-records.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type EngineDatabase } from "../support/engine.ts";

describe.each(DIALECTS)("events beyond transitions on %s", (dialect) => {
  let engine: EngineDatabase;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  beforeAll(async () => {
    engine = await configureEngine(dialect);
    store = engine.store as KyselyStore;
    orchestration = new KyselyOrchestrationStore(store);
  });
  afterAll(() => engine.close());

  const eventsOf = async (resource: string) => (await store.listEvents({ resource, order: "oldest" })).items;
  const names = (events: EventRecord[]) => events.map((e) => e.event);

  it("deployments: created, updated, paused, resumed, deleted, each with its pool, queue and tags", async () => {
    await orchestration.upsertWorkPool({ name: "ev-pool" });
    const d = await orchestration.upsertDeployment({ name: "ev-dep", flowName: "f", entrypoint: "f.ts:f", workPool: "ev-pool", tags: ["nightly"] });
    await orchestration.upsertDeployment({ name: "ev-dep", flowName: "f", entrypoint: "f.ts:f", workPool: "ev-pool", tags: ["nightly"], description: "new" });
    await orchestration.setDeploymentPaused("ev-dep", true);
    await orchestration.setDeploymentPaused("ev-dep", true); // no change, no event
    await orchestration.upsertDeployment({ name: "ev-dep", flowName: "f", entrypoint: "f.ts:f", workPool: "ev-pool", paused: false });
    await orchestration.deleteDeployment("ev-dep");
    const events = await eventsOf(d.id);
    expect(names(events)).toEqual(["baton.deployment.created", "baton.deployment.updated", "baton.deployment.paused", "baton.deployment.resumed", "baton.deployment.deleted"]);
    expect(events[0]).toMatchObject({
      resource: { id: d.id, name: "ev-dep", labels: { kind: "deployment", flow: "f" } },
      related: [
        { role: "work-pool", id: "ev-pool" },
        { role: "work-queue", id: "ev-pool/default" },
        { role: "tag", id: "nightly" },
      ],
    });
    // The pool's own events and its deployments' are one lookup away.
    expect(names((await store.listEvents({ related: "ev-pool", order: "oldest" })).items)).toContain("baton.deployment.deleted");
  });

  it("work pools, queues and limits: created, updated, paused, resumed, reset, deleted", async () => {
    await orchestration.upsertWorkPool({ name: "ev-pool-2" });
    await orchestration.upsertWorkPool({ name: "ev-pool-2", paused: true });
    await orchestration.upsertWorkPool({ name: "ev-pool-2", concurrencyLimit: 3 });
    await orchestration.upsertWorkQueue({ poolName: "ev-pool-2", name: "fast", priority: 1 });
    await orchestration.upsertWorkQueue({ poolName: "ev-pool-2", name: "fast", priority: 2, paused: true });
    await orchestration.deleteWorkPool("ev-pool-2");
    expect(names(await eventsOf("ev-pool-2"))).toEqual(["baton.work-pool.created", "baton.work-pool.paused", "baton.work-pool.updated", "baton.work-pool.deleted"]);
    const queue = await eventsOf("ev-pool-2/fast");
    expect(names(queue)).toEqual(["baton.work-queue.created", "baton.work-queue.paused"]);
    expect(queue[1]).toMatchObject({ related: [{ role: "work-pool", id: "ev-pool-2" }], payload: { priority: 2, paused: true } });

    await orchestration.upsertConcurrencyLimit({ name: "ev-limit", limit: 2 });
    await orchestration.upsertConcurrencyLimit({ name: "ev-limit", limit: 4 });
    await orchestration.resetConcurrencyLimit("ev-limit");
    await orchestration.deleteConcurrencyLimit("ev-limit");
    expect(await orchestration.deleteConcurrencyLimit("ev-limit")).toBe(false);
    const limit = await eventsOf("ev-limit");
    expect(names(limit)).toEqual(["baton.concurrency-limit.created", "baton.concurrency-limit.updated", "baton.concurrency-limit.reset", "baton.concurrency-limit.deleted"]);
    expect(limit[1]!.payload).toEqual({ limit: 4, slotDecayPerSecond: null });
  });

  it("emitEvent inside a run: related to the flow run (and task run, flow), written with the run's batch", async () => {
    const step = task(async function step(key: string) {
      await emitEvent("data.loaded", { resource: { id: key, name: "k.csv" }, payload: { rows: 3 } });
      await emitEvent("step.done");
      return key;
    });
    const pipeline = flow(async function emitting() {
      await emitEvent("pipeline.started", { related: [{ role: "dataset", id: "sales" }] });
      return step(`s3://bucket/k-${dialect}.csv`);
    });
    await pipeline();
    const [run] = await store.listFlowRuns({ flowName: "emitting", limit: 1 });
    const events = (await store.listEvents({ related: run!.id, order: "oldest" })).items;
    const taskRun = (await store.listTaskRuns(run!.id))[0]!;
    const byName = new Map(events.map((e) => [e.event, e]));
    expect(byName.get("data.loaded")).toMatchObject({
      resource: { id: `s3://bucket/k-${dialect}.csv`, name: "k.csv" },
      related: [
        { role: "task-run", id: taskRun.id },
        { role: "flow-run", id: run!.id },
        { role: "flow", id: run!.flowId, name: "emitting" },
      ],
      payload: { rows: 3 },
    });
    // Without a resource: the task run it comes from.
    expect(byName.get("step.done")!.resource).toMatchObject({ id: taskRun.id, labels: { kind: "task-run" } });
    // From the flow itself: the flow run is the resource, not a related one.
    const started = (await eventsOf(run!.id)).find((e) => e.event === "pipeline.started")!;
    expect(started.related).toEqual([{ role: "dataset", id: "sales" }, { role: "flow", id: run!.flowId, name: "emitting" }]);
  });

  it("emitEvent outside a run stores at once, needs a resource; bad arguments are TypeErrors naming them", async () => {
    const stored = await emitEvent("model.published", { resource: { id: "model-9" }, payload: { version: 3 } });
    expect((await eventsOf("model-9")).map((e) => e.id)).toEqual([stored.id]);
    await expect(emitEvent("model.published")).rejects.toThrow(/outside a flow or task run.*options\.resource/);
    await expect(emitEvent("not a name", { resource: { id: "x" } })).rejects.toThrow(TypeError);
    await expect(emitEvent("not a name", { resource: { id: "x" } })).rejects.toThrow(/emitEvent\(event\) must be a dotted name/);
    await expect(emitEvent("baton.flow-run.Completed", { resource: { id: "x" } })).rejects.toThrow(/emitEvent\(event\): names under "baton\." are Baton's own/);
    await expect(emitEvent("a.b", { resource: { id: "" } })).rejects.toThrow(/options\.resource/);
    await expect(emitEvent("a.b", { resource: { id: "x" }, payload: [] as unknown as Record<string, unknown> })).rejects.toThrow(/options\.payload must be an object/);
  });
});
