/**
 * Deployment retries are a reaction of the store's transitions, on SQLite and PostgreSQL: a run
 * of a deployment that ends Crashed or Failed is scheduled again in the same commit, whoever ended
 * it (a crash sweep in any process, the run's own process, its worker, the API), and a run that
 * never starts uses its retries up instead of being retried forever.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, DeploymentInput, FlowRun } from "../../src/store/types.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

describe.each(DIALECTS)("deployment retries on %s", (dialect) => {
  let store: KyselyStore;
  let other: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    store = await openStore(db.url);
    // Another process on the same database (a `baton run`, a worker's run process).
    other = await openStore(db.url);
    orchestration = new KyselyOrchestrationStore(store);
    await orchestration.upsertWorkPool({ name: "pool" });
  });
  afterAll(async () => {
    await other.close();
    await store.close();
    await cleanup();
  });

  const deploy = (name: string, extra: Partial<DeploymentInput> = {}): Promise<Deployment> =>
    orchestration.upsertDeployment({ name, flowName: "f", entrypoint: "/x.ts:f", workPool: "pool", retries: 3, ...extra });

  async function claimedRun(d: Deployment, worker = "w1"): Promise<FlowRun> {
    const run = await store.createFlowRun({
      id: newId(), flowName: d.flowName, name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      entrypoint: d.entrypoint, deploymentId: d.id, workPool: "pool", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
    });
    const claimed = await orchestration.claimFlowRuns("pool", worker, 10, Date.now());
    expect(claimed.map((r) => r.id)).toContain(run.id);
    return (await store.getFlowRun(run.id))!;
  }

  it("a run found Crashed by a sweep in any process is scheduled again in the same commit", async () => {
    const d = await deploy("swept", { retryDelayMs: 0 });
    const run = await claimedRun(d);
    await store.setFlowRunState(run.id, makeState("Running", { timestamp: Date.now() - 10_000 }), { heartbeatMs: 100, heartbeatAt: Date.now() - 10_000 });
    expect(await other.crashStaleFlowRuns(Date.now())).toEqual([run.id]);
    const after = (await store.getFlowRun(run.id))!;
    expect(after).toMatchObject({ state: { name: "AwaitingRetry" }, retriesUsed: 1 });
    expect(after.state.message).toMatch(/^retry 1 of 3 after Crashed: no heartbeat since/);
    expect((await store.stateHistory(run.id)).map((s) => s.name)).toEqual(["Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry"]);
    // A worker claims it again at once.
    expect((await orchestration.claimFlowRuns("pool", "w2", 10, Date.now())).map((r) => r.id)).toEqual([run.id]);
  });

  it("a run that never starts uses its retries up: Crashed for good after the last one", async () => {
    const d = await deploy("never-starts", { retries: 2, retryDelayMs: 0 });
    const run = await claimedRun(d);
    // Its process exits before it starts, three times: the worker reports each.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const current = (await store.getFlowRun(run.id))!;
      expect(current.state.name).toBe("Pending");
      const set = await store.setFlowRunState(run.id, makeState("Crashed", { message: "the flow run's process could not start: its working directory /srv/ml is not a directory" }), {
        expect: { workerId: current.workerId!, stateTimestamp: current.state.timestamp },
      });
      expect(set.accepted).toBe(true);
      if (attempt < 3) {
        expect(set.run).toMatchObject({ state: { name: "AwaitingRetry" }, retriesUsed: attempt });
        await orchestration.claimFlowRuns("pool", "w1", 10, Date.now());
      } else expect(set.run).toMatchObject({ state: { name: "Crashed" }, retriesUsed: 2, runCount: 0 });
    }
    expect((await store.stateHistory(run.id)).filter((s) => s.name === "AwaitingRetry").map((s) => s.message)).toEqual([
      "retry 1 of 2 after Crashed: the flow run's process could not start: its working directory /srv/ml is not a directory",
      "retry 2 of 2 after Crashed: the flow run's process could not start: its working directory /srv/ml is not a directory",
    ]);
    expect(await orchestration.claimFlowRuns("pool", "w1", 10, Date.now())).toEqual([]);
  });

  it("a Failed run is retried by the transition that failed it, unless its error says a retry cannot help", async () => {
    const d = await deploy("fails", { retries: 1, retryDelayMs: 60_000 });
    const run = await claimedRun(d);
    await store.setFlowRunState(run.id, makeState("Running"));
    const failed = await other.setFlowRunState(run.id, makeState("Failed", { message: "boom" }), { error: { name: "Error", message: "boom" } });
    expect(failed.run).toMatchObject({ state: { name: "AwaitingRetry", message: "retry 1 of 1 after Failed: boom" }, retriesUsed: 1, error: { message: "boom" } });
    expect(failed.run.state.scheduledAt! - Date.now()).toBeGreaterThan(50_000);

    const refused = await claimedRun(await deploy("refuses", { retries: 3 }));
    await store.setFlowRunState(refused.id, makeState("Running"));
    const final = await store.setFlowRunState(refused.id, makeState("Failed", { message: "no" }), { error: { name: "NonRetryableError", message: "no" } });
    expect(final.run).toMatchObject({ state: { name: "Failed" }, retriesUsed: 0 });
  });

  it("a Cancelled or Completed run, or one without a deployment, is not retried", async () => {
    const d = await deploy("ends-well");
    const run = await claimedRun(d);
    await store.setFlowRunState(run.id, makeState("Running"));
    expect((await store.setFlowRunState(run.id, makeState("Completed"))).run.state.name).toBe("Completed");
    const cancelled = await claimedRun(d);
    expect((await store.setFlowRunState(cancelled.id, makeState("Cancelled"))).run.state.name).toBe("Cancelled");
    const adHoc = await store.createFlowRun({ id: newId(), flowName: "f", name: "adhoc", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await store.setFlowRunState(adHoc.id, makeState("Running"));
    expect((await store.setFlowRunState(adHoc.id, makeState("Failed"))).run.state.name).toBe("Failed");
  });

  it("compare-and-set: a report about a run that changed since it was read is refused", async () => {
    const d = await deploy("cas");
    const run = await claimedRun(d, "w-old");
    const refused = await store.setFlowRunState(run.id, makeState("Crashed"), { expect: { workerId: "w-other" } });
    expect(refused).toMatchObject({ accepted: false, rule: "RunChangedSinceRead" });
    expect(refused.accepted || refused.reason).toMatch(/no longer held by worker w-other/);
    const stale = await store.setFlowRunState(run.id, makeState("Crashed"), { expect: { workerId: "w-old", stateTimestamp: run.state.timestamp - 1 } });
    expect(stale).toMatchObject({ accepted: false, rule: "RunChangedSinceRead" });
    expect((await store.getFlowRun(run.id))!.state.name).toBe("Pending");
  });

  it("every start counts: a run set Running by anyone gets its run count", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "f", name: "counted", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    expect((await store.setFlowRunState(run.id, makeState("Running"))).run.runCount).toBe(1);
    await store.setFlowRunState(run.id, makeState("AwaitingRetry", { scheduledAt: Date.now() }));
    expect((await store.setFlowRunState(run.id, makeState("Retrying"))).run.runCount).toBe(2);
    // An explicit count (the engine's resume) is kept as given.
    await store.setFlowRunState(run.id, makeState("Failed"));
    await store.setFlowRunState(run.id, makeState("Pending"));
    expect((await store.setFlowRunState(run.id, makeState("Running"), { runCount: 7 })).run.runCount).toBe(7);
  });
});
