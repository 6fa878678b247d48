/**
 * Heartbeats are timed by the server's clock and never move backwards, and the server's crash
 * detector marks a run Crashed only after three missed intervals counted from when it could
 * have heard them (not across its own downtime).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";
import { buildServer } from "../../src/server/app.ts";
import { makeState } from "../../src/core/states.ts";

describe.each(DIALECTS)("heartbeats on %s", (dialect) => {
  let api: ApiHarness;

  beforeAll(async () => {
    // This server's own detector must not race the one under test.
    api = await apiHarness(dialect, { crashCheckMs: 3600_000 });
  });
  afterAll(() => api.close());

  const running = async (fields: Record<string, unknown> = {}) => {
    const run = (await api.call("POST", "/api/flow-runs", { flowName: "beats" })).body;
    const res = await api.call("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running", ...fields } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it("records the server's time, whatever the client's clock says", async () => {
    // A client whose clock is an hour behind: its Running state and its heartbeats.
    const hourAgo = Date.now() - 3600_000;
    const run = await running({ timestamp: hourAgo });
    expect(run.heartbeatAt).toBeGreaterThan(Date.now() - 5_000);
    const before = Date.now();
    expect((await api.call("POST", `/api/flow-runs/${run.id}/heartbeat`, { at: hourAgo })).body).toEqual({ stateType: "RUNNING" });
    expect((await api.call("GET", `/api/flow-runs/${run.id}`)).body.heartbeatAt).toBeGreaterThanOrEqual(before);
    expect((await api.call("POST", "/api/flow-runs/crash-stale", { onlyId: run.id })).body.crashed).toEqual([]);
  });

  it("never moves the last heartbeat backwards", async () => {
    const run = await running();
    const later = Date.now() + 60_000;
    await api.store.heartbeatFlowRun(run.id, later);
    await api.store.heartbeatFlowRun(run.id, Date.now());
    expect((await api.store.getFlowRun(run.id))!.heartbeatAt).toBe(later);
    await api.call("POST", `/api/flow-runs/${run.id}/heartbeat`, {});
    expect((await api.store.getFlowRun(run.id))!.heartbeatAt).toBe(later);
  });

  it("marks a stale run Crashed from the server's crash detector, counting from the server's start", async () => {
    const run = await running();
    // Last heard of 10 s ago, with a 200 ms heartbeat: stale by the clock...
    await api.store.setFlowRunState(run.id, makeState("Running"), { force: true, heartbeatMs: 200, heartbeatAt: Date.now() - 10_000 });
    // The harness's server leads (it runs the sweeps): it steps down for the one under test.
    await api.server.leadership.stop();
    const server = await buildServer({ store: api.store, crashCheckMs: 50 });
    try {
      // ...but this server just started: the run may have beaten while no server listened.
      await new Promise((r) => setTimeout(r, 250));
      expect((await api.store.getFlowRun(run.id))!.state.name).toBe("Running");
      const deadline = Date.now() + 5_000;
      while ((await api.store.getFlowRun(run.id))!.state.name === "Running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const crashed = (await api.store.getFlowRun(run.id))!;
      expect(crashed.state).toMatchObject({ name: "Crashed", message: expect.stringMatching(/no heartbeat since .*: the process running this flow run died/) });
      // A run that keeps beating is left alone.
      const alive = await running({});
      await api.store.setFlowRunState(alive.id, makeState("Running"), { force: true, heartbeatMs: 200 });
      const beating = setInterval(() => void api.store.heartbeatFlowRun(alive.id, Date.now()), 100);
      await new Promise((r) => setTimeout(r, 1000));
      clearInterval(beating);
      expect((await api.store.getFlowRun(alive.id))!.state.name).toBe("Running");
    } finally {
      await server.close();
    }
  });
});
