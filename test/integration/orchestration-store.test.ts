/**
 * The orchestration store on SQLite and PostgreSQL: which runs a claim hands out (no
 * starvation behind blocked runs, queue priority over every due run), pausing, late marking.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { slotRuns } from "../../src/services/scheduling.ts";
import type { Deployment, DeploymentInput, FlowRun, OrchestrationStore } from "../../src/store/types.ts";
import { acquireHeld } from "../../src/engine/concurrency.ts";
import { concurrency, configure, shutdown } from "../../src/index.ts";
import { until } from "../support/processes.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

describe.each(DIALECTS)("orchestration store on %s", (dialect) => {
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let cleanup: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    url = db.url;
    store = await openStore(db.url);
    orchestration = new KyselyOrchestrationStore(store);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const deploy = (name: string, pool: string, extra: Partial<DeploymentInput> = {}): Promise<Deployment> =>
    orchestration.upsertDeployment({ name, flowName: "f", entrypoint: "/x.ts:f", workPool: pool, ...extra });

  async function createRuns(d: Deployment, count: number, scheduledAt: number, queue = d.workQueue): Promise<FlowRun[]> {
    const runs: FlowRun[] = [];
    for (let i = 0; i < count; i++)
      runs.push(
        await store.createFlowRun({
          id: newId(), flowName: d.flowName, name: `r${i}`, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
          entrypoint: d.entrypoint, deploymentId: d.id, workPool: d.workPool, workQueue: queue, state: makeState("Scheduled", { scheduledAt: scheduledAt + i }),
        }),
      );
    return runs;
  }

  const claimIds = async (pool: string, max: number) => (await orchestration.claimFlowRuns(pool, "w", max, Date.now())).map((r) => r.id);
  const old = () => Date.now() - 60_000;

  it("claims racing on one pool never hand a run out twice nor past the pool's limit, each with its deployment's job variables", async () => {
    await orchestration.upsertWorkPool({ name: "p-race", concurrencyLimit: 7, jobVariables: { env: { FROM_POOL: "1" } } });
    const d = await deploy("racer", "p-race", { jobVariables: { env: { FROM_DEPLOYMENT: "2" } } });
    await createRuns(d, 12, old());
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => orchestration.claimFlowRuns("p-race", `w${i}`, 3, Date.now())));
    const ids = claims.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(7);
    for (const run of claims.flat()) {
      expect(run.state.name).toBe("Pending");
      expect(run.flowName).toBe("f");
      expect(run.deploymentId).toBe(d.id);
      expect(run.jobVariables.env).toEqual({ FROM_POOL: "1", FROM_DEPLOYMENT: "2" });
    }
    expect(await claimIds("p-race", 5)).toEqual([]);
  });

  it("a backlog of a paused deployment does not starve the pool", async () => {
    await orchestration.upsertWorkPool({ name: "p-paused-dep" });
    const blocked = await deploy("blocked-paused", "p-paused-dep");
    await createRuns(blocked, 60, old());
    await orchestration.setDeploymentPaused(blocked.id, true);
    const [ready] = await createRuns(await deploy("ready-1", "p-paused-dep"), 1, Date.now() - 1000);
    expect(await claimIds("p-paused-dep", 1)).toEqual([ready!.id]);
  });

  it("a backlog of a deployment at its limit does not starve the pool, nor a queue with a limit", async () => {
    await orchestration.upsertWorkPool({ name: "p-limit-dep" });
    await orchestration.upsertWorkQueue({ poolName: "p-limit-dep", name: "default", concurrencyLimit: 3 });
    const busy = await deploy("busy", "p-limit-dep", { concurrencyLimit: 1 });
    const [first] = await createRuns(busy, 61, old());
    expect(await claimIds("p-limit-dep", 1)).toEqual([first!.id]);
    // 60 due runs of "busy" wait for its only slot; two runs of another deployment of the same
    // queue go ahead, up to the queue's limit of 3.
    const others = await createRuns(await deploy("other", "p-limit-dep"), 3, Date.now() - 1000);
    expect(await claimIds("p-limit-dep", 10)).toEqual([others[0]!.id, others[1]!.id]);
    expect(await claimIds("p-limit-dep", 10)).toEqual([]);
  });

  it("a paused queue's backlog does not starve the other queues", async () => {
    await orchestration.upsertWorkPool({ name: "p-paused-queue" });
    await orchestration.upsertWorkQueue({ poolName: "p-paused-queue", name: "slow", paused: true });
    const d = await deploy("queued", "p-paused-queue");
    await createRuns(d, 60, old(), "slow");
    const [ready] = await createRuns(d, 1, Date.now() - 1000, "default");
    expect(await claimIds("p-paused-queue", 1)).toEqual([ready!.id]);
  });

  it("serves queues by priority over every due run, then by due time", async () => {
    await orchestration.upsertWorkPool({ name: "p-priority" });
    await orchestration.upsertWorkQueue({ poolName: "p-priority", name: "low", priority: 5 });
    await orchestration.upsertWorkQueue({ poolName: "p-priority", name: "high", priority: 1 });
    const d = await deploy("prio", "p-priority");
    const low = await createRuns(d, 60, old(), "low");
    const high = await createRuns(d, 2, Date.now() - 1000, "high");
    expect(await claimIds("p-priority", 3)).toEqual([high[0]!.id, high[1]!.id, low[0]!.id]);
  });

  it("pausing a deployment drops its scheduled runs, Late ones included, and keeps runs made by hand", async () => {
    await orchestration.upsertWorkPool({ name: "p-late" });
    const d = await deploy("late-dep", "p-late");
    const now = Date.now();
    expect(await orchestration.scheduleRuns(d, slotRuns(d, [now - 120_000, now - 60_000, now + 60_000]))).toBe(3);
    const [byHand] = await createRuns(d, 1, now - 120_000);
    await orchestration.markLateRuns(now, 15_000);
    const states = (await store.listFlowRuns({ deploymentId: d.id })).map((r) => r.state.name).sort();
    expect(states).toEqual(["Late", "Late", "Late", "Scheduled"]); // two past slots and the run made by hand
    await orchestration.setDeploymentPaused(d.id, true);
    const left = await store.listFlowRuns({ deploymentId: d.id });
    expect(left.map((r) => r.id)).toEqual([byHand!.id]);
    // A scheduler pass that read the deployment before the pause makes no runs after it.
    expect(await orchestration.scheduleRuns(d, slotRuns(d, [now + 120_000]))).toBe(0);
    expect((await store.listFlowRuns({ deploymentId: d.id })).map((r) => r.id)).toEqual([byHand!.id]);
  });

  it("a rate limit is a leaky bucket: a burst of `limit`, then `decay` slots per second", async () => {
    await orchestration.upsertConcurrencyLimit({ name: "rate", limit: 2, slotDecayPerSecond: 10 });
    const t = Date.now();
    const take = async (at: number) => (await orchestration.acquireSlots(["rate"], "h", 1, 60_000, t + at)) !== null;
    expect([await take(0), await take(0), await take(0)]).toEqual([true, true, false]); // the burst
    // One slot every 100 ms from then on, however many wait.
    expect([await take(99), await take(100), await take(150), await take(199), await take(200), await take(250)]).toEqual([false, true, false, false, true, false]);
    // After a quiet second the bucket is empty again: a burst of 2.
    expect([await take(1400), await take(1400), await take(1400)]).toEqual([true, true, false]);
    expect((await orchestration.getConcurrencyLimit("rate"))!.slotDecayPerSecond).toBe(10);
  });

  it("a holder whose renewals fail past the lease lifetime warns, and re-takes its slot once the store answers", async () => {
    await orchestration.upsertConcurrencyLimit({ name: "flaky", limit: 1 });
    let down = false;
    const flaky: OrchestrationStore = Object.create(orchestration, {
      renewLeases: {
        value: async (ids: string[], ttlMs: number, now: number) => {
          if (down) throw new Error("connection refused");
          return orchestration.renewLeases(ids, ttlMs, now);
        },
      },
    });
    const warnings: string[] = [];
    const held = await acquireHeld(flaky, ["flaky"], { holder: "a", ttlMs: 300, warn: (m) => warnings.push(m) });
    const first = held.leases[0]!.id;
    down = true;
    await until(() => warnings.some((w) => /could not renew the lease of 1 slot\(s\) of limit "flaky" for \d+ ms \(longer than its 300 ms lifetime\): connection refused/.test(w)), "the warning", 5_000);
    // The lease expired meanwhile: another holder takes the slot.
    const other = await until(async () => (await orchestration.acquireSlots(["flaky"], "b", 1, 60_000, Date.now())) ?? undefined, "the slot to free", 5_000);
    down = false;
    await until(() => warnings.some((w) => /expired before it could be renewed/.test(w)), "the loss to be noticed", 5_000);
    expect(held.leases[0]!.id).toBe(first); // b holds the only slot: nothing to re-take yet
    await orchestration.releaseLeases(other.map((l) => l.id));
    await until(() => held.leases[0]!.id !== first, "the slot to be re-taken", 5_000);
    expect((await orchestration.getConcurrencyLimit("flaky"))!.holders.map((h) => h.holder)).toEqual(["a"]);
    await held.release();
    expect((await orchestration.getConcurrencyLimit("flaky"))!.activeSlots).toBe(0);
  });

  it("never relabels Late a run claimed while late marking runs", async () => {
    await orchestration.upsertWorkPool({ name: "p-late-race" });
    const d = await deploy("late-race", "p-late-race");
    const [run] = await createRuns(d, 1, Date.now() - 60_000);
    const claim = async () => {
      const claimed = await orchestration.claimFlowRuns("p-late-race", "w", 1, Date.now());
      expect(claimed.map((r) => r.id)).toEqual([run!.id]);
    };
    if (dialect === "postgres") {
      // Hold the run's row lock, let late marking find the run and wait for the lock, then claim
      // the run and release: late marking must re-check the state instead of relabelling it.
      await store.db.connection().execute(async (conn) => {
        await sql`begin`.execute(conn);
        await sql`select id from flow_runs where id = ${run!.id} for update`.execute(conn);
        const marking = orchestration.markLateRuns(Date.now(), 15_000);
        await new Promise((r) => setTimeout(r, 300));
        await sql`update flow_runs set state_type = 'PENDING', state_name = 'Pending', worker_id = 'w' where id = ${run!.id}`.execute(conn);
        await sql`commit`.execute(conn);
        expect(await marking).not.toContain(run!.id);
      });
    } else {
      // SQLite writers take turns (BEGIN IMMEDIATE): a claim and late marking cannot interleave.
      await claim();
      expect(await orchestration.markLateRuns(Date.now(), 15_000)).not.toContain(run!.id);
    }
    const after = (await store.getFlowRun(run!.id))!;
    expect([after.state.type, after.state.name]).toEqual(["PENDING", "Pending"]);
    expect((await store.stateHistory(run!.id)).map((s) => s.name)).not.toContain("Late");
  });

  it("re-deploying keeps a paused deployment paused, and a schedule's pause, unless told otherwise", async () => {
    await orchestration.upsertWorkPool({ name: "p-redeploy" });
    const spec = { kind: "interval", intervalMs: 60_000, anchor: 0 };
    const d = await deploy("redeploy", "p-redeploy", { schedules: [{ spec }, { spec: { ...spec, intervalMs: 120_000 } }] });
    await orchestration.setDeploymentPaused(d.id, true);
    await orchestration.setScheduleActive(d.id, d.schedules[1]!.id, false);
    const again = await deploy("redeploy", "p-redeploy", { schedules: [{ spec }, { spec: { ...spec, intervalMs: 120_000 } }], description: "v2" });
    expect(again).toMatchObject({ paused: true, description: "v2" });
    expect(again.schedules.map((s) => [s.id, s.active])).toEqual([[d.schedules[0]!.id, true], [d.schedules[1]!.id, false]]);
    const changed = await deploy("redeploy", "p-redeploy", { schedules: [{ spec: { ...spec, intervalMs: 120_000 } }, { spec: { ...spec, intervalMs: 300_000 } }] });
    expect(changed.schedules.map((s) => s.active)).toEqual([false, true]); // the kept spec keeps its pause
    expect((await deploy("redeploy", "p-redeploy", { paused: false })).paused).toBe(false);
  });

  it("a schedule change drops the future Scheduled runs of the old schedules, not runs awaiting a retry", async () => {
    await orchestration.upsertWorkPool({ name: "p-resched" });
    const d = await deploy("resched", "p-resched", { schedules: [{ spec: { kind: "interval", intervalMs: 60_000 } }] });
    const now = Date.now();
    await orchestration.scheduleRuns(d, slotRuns(d, [now - 1000, now + 60_000, now + 120_000]));
    const [due] = await orchestration.claimFlowRuns("p-resched", "w", 1, now);
    await store.setFlowRunState(due!.id, makeState("Running"));
    await store.setFlowRunState(due!.id, makeState("Failed"));
    await store.setFlowRunState(due!.id, makeState("AwaitingRetry", { scheduledAt: now + 30_000 }));
    await deploy("resched", "p-resched", { schedules: [{ spec: { kind: "interval", intervalMs: 3_600_000 } }] });
    const left = await store.listFlowRuns({ deploymentId: d.id });
    expect(left.map((r) => [r.id, r.state.name])).toEqual([[due!.id, "AwaitingRetry"]]);
  });

  it("concurrency(name, n) from code takes n slots, in both its forms", async () => {
    await configure({ databaseUrl: url, logLevel: "silent" });
    try {
      await orchestration.upsertConcurrencyLimit({ name: "sdk", limit: 3 });
      const active = async () => (await orchestration.getConcurrencyLimit("sdk"))!.activeSlots;
      {
        await using held = await concurrency("sdk", 2);
        expect(held.leases.map((l) => l.slots)).toEqual([2]);
        expect(await active()).toBe(2);
      }
      expect(await active()).toBe(0);
      expect(await concurrency("sdk", 3, active)).toBe(3);
      await expect(concurrency("sdk", 4)).rejects.toThrow(/limit "sdk" has 3 slots; 4 can never be taken/);
    } finally {
      await shutdown();
    }
  });

  it("crashes the Pending runs of a worker that stopped heartbeating, and its running ones once they miss a beat too", async () => {
    await orchestration.upsertWorkPool({ name: "p-lost" });
    const d = await deploy("lost", "p-lost");
    const [pending, running] = await createRuns(d, 2, Date.now() - 1000);
    await orchestration.registerWorker({ id: "lost-worker", name: "lost", poolName: "p-lost", runLimit: null, heartbeatMs: 1000 });
    expect((await orchestration.claimFlowRuns("p-lost", "lost-worker", 2, Date.now())).length).toBe(2);
    const t = Date.now();
    await store.setFlowRunState(running!.id, makeState("Running", { timestamp: t }), { heartbeatMs: 10_000 });
    expect(await store.crashStaleFlowRuns(t + 2_000)).toEqual([]); // the worker beat 2 s ago: alive
    // 3 missed worker beats: its Pending run has no process; its running one still beats.
    expect(await store.crashStaleFlowRuns(t + 4_000)).toEqual([pending!.id]);
    // The running one is Crashed once it missed a beat of its own (1.5 × 10 s), not 3.
    expect(await store.crashStaleFlowRuns(t + 16_000)).toEqual([running!.id]);
    expect((await store.getFlowRun(running!.id))!.state.message).toMatch(/its worker has not heartbeated/);
  });
});
