/**
 * Job variables that change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…),
 * on SQLite and PostgreSQL: every API route that takes job variables answers 400 naming the
 * field unless the run's work pool allows the variable (allowEnv, also through the remote
 * client), and a run that carries one anyway — written into the database directly — is not
 * handed to a worker but ends Failed, naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { ApiClient } from "../../src/client/api-client.ts";
import { RemoteOrchestrationStore } from "../../src/client/remote-orchestration.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";

const INJECTED = { NODE_OPTIONS: "--import=data:text/javascript,import{writeFileSync}from'node:fs';writeFileSync('/tmp/pwned','1')" };

describe.each(DIALECTS)("runtime environment variables on %s", (dialect) => {
  let api: ApiHarness;
  let orchestration: KyselyOrchestrationStore;

  beforeAll(async () => {
    api = await apiHarness(dialect);
    orchestration = new KyselyOrchestrationStore(api.store);
    expect((await api.call("POST", "/api/work-pools", { name: "plain" })).status).toBe(201);
    const deployment = { name: "plain-dep", flowName: "f", entrypoint: "f.ts:f", workPool: "plain" };
    expect((await api.call("POST", "/api/deployments", deployment)).status).toBe(201);
  });
  afterAll(() => api.close());

  it("POST /api/deployments/{name}/runs refuses NODE_OPTIONS with a 400 naming the field and how to allow it", async () => {
    const res = await api.call("POST", "/api/deployments/plain-dep/runs", { jobVariables: { env: INJECTED } });
    expectError(res, 400, /^body\.jobVariables\.env\.NODE_OPTIONS is refused: Node\.js reads it .*; work pool "plain" does not allow it \(allow it with baton work-pool create plain --allow-env NODE_OPTIONS, or allowEnv in POST \/api\/work-pools\)$/);
    expect(res.body.error.details).toEqual({ field: "body.jobVariables.env.NODE_OPTIONS", allowEnv: [] });
    expect((await api.store.listFlowRuns({ flowName: "f", limit: 10 })).length).toBe(0);
  });

  it("every other door refuses them too: deployments, work pools, flow runs", async () => {
    const { call } = api;
    const field = /^body\.jobVariables\.env\.(\w+) is refused: /;
    expectError(await call("POST", "/api/deployments", { name: "d2", flowName: "f", entrypoint: "f.ts:f", workPool: "plain", jobVariables: { env: { LD_PRELOAD: "/tmp/x.so" } } }), 400, field);
    expectError(await call("POST", "/api/deployments", { name: "d3", flowName: "f", entrypoint: "f.ts:f", jobVariables: { env: { BATON_API_URL: "http://x" } } }), 400, /only a run of a work pool that allows it/);
    expectError(await call("POST", "/api/work-pools", { name: "p2", jobVariables: { env: INJECTED } }), 400, field);
    expectError(await call("POST", "/api/work-pools", { name: "p2", jobVariables: { env: INJECTED }, allowEnv: ["NODE_PATH"] }), 400, field);
    expectError(await call("POST", "/api/flow-runs", { flowName: "f", workPool: "plain", jobVariables: { env: { TSX_TSCONFIG_PATH: "/x" } } }), 400, field);
    expectError(await call("POST", "/api/flow-runs", { flowName: "f", jobVariables: { env: { node_options: "--require=/x" } } }), 400, /env\.node_options is refused/);
    expectError(await call("POST", "/api/work-pools", { name: "p3", allowEnv: ["*"] }), 400, /^body\.allowEnv\.0 must match pattern/);
    for (const name of ["d2", "d3"]) expect((await call("GET", `/api/deployments/${name}`)).status).toBe(404);
    expect((await call("GET", "/api/work-pools/p2")).status).toBe(404);
    // Others pass: NODE_ENV and PATH do not change how the runtime loads code.
    expect((await call("POST", "/api/deployments/plain-dep/runs", { jobVariables: { env: { NODE_ENV: "production", PATH: "/opt/venv/bin:/usr/bin" } } })).status).toBe(201);
  });

  it("a pool's allowEnv lets its runs set what it names, by name or PREFIX_*; narrowing it keeps the pool's own variables consistent", async () => {
    const { call } = api;
    const created = await call("POST", "/api/work-pools", { name: "trusted", allowEnv: ["NODE_OPTIONS", "LD_*"], jobVariables: { env: { LD_LIBRARY_PATH: "/opt/cuda/lib" } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ allowEnv: ["NODE_OPTIONS", "LD_*"] });
    expect((await call("POST", "/api/deployments", { name: "trusted-dep", flowName: "f", entrypoint: "f.ts:f", workPool: "trusted", jobVariables: { env: { NODE_OPTIONS: "--max-old-space-size=8192" } } })).status).toBe(201);
    expect((await call("POST", "/api/deployments/trusted-dep/runs", { jobVariables: { env: { LD_PRELOAD: "/opt/libjemalloc.so" } } })).status).toBe(201);
    expectError(await call("POST", "/api/deployments/trusted-dep/runs", { jobVariables: { env: { NODE_PATH: "/x" } } }), 400, /NODE_PATH is refused/);
    // Updating the pool keeps its list unless one is sent; a list that leaves out a variable
    // the pool sets itself is refused.
    expect((await call("POST", "/api/work-pools", { name: "trusted", concurrencyLimit: 3 })).body.allowEnv).toEqual(["NODE_OPTIONS", "LD_*"]);
    expectError(await call("POST", "/api/work-pools", { name: "trusted", allowEnv: ["NODE_OPTIONS"] }), 400, /^body\.allowEnv leaves out LD_LIBRARY_PATH, which work pool "trusted" sets in its own job variables/);

    // The remote client (workers and the CLI behind a server) sends and reads allowEnv.
    const remote = new RemoteOrchestrationStore(new ApiClient({ baseUrl: `http://127.0.0.1:${await listen()}` }));
    expect((await remote.upsertWorkPool({ name: "remote-pool", allowEnv: ["BATON_*"] })).allowEnv).toEqual(["BATON_*"]);
    expect((await remote.getWorkPool("remote-pool"))!.allowEnv).toEqual(["BATON_*"]);
    expect((await orchestration.getWorkPool("remote-pool"))!.allowEnv).toEqual(["BATON_*"]);
  });

  it("a run whose job variables carry one anyway (written into the database) is not handed out: it ends Failed naming it", async () => {
    await orchestration.upsertWorkPool({ name: "guarded" });
    const deployment = await orchestration.upsertDeployment({ name: "guarded-dep", flowName: "g", entrypoint: "g.ts:g", workPool: "guarded" });
    const run = (id: string) =>
      api.store.createFlowRun({
        id, flowName: "g", name: id.slice(-6), parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
        entrypoint: "g.ts:g", deploymentId: deployment.id, workPool: "guarded", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() - 1000 }),
      });
    const [bad, good, viaDeployment] = [newId(), newId(), newId()];
    await run(bad);
    await run(good);
    await api.store.db.updateTable("flow_runs").set({ job_variables: JSON.stringify({ env: { ...INJECTED, SAFE: "1" } }) }).where("id", "=", bad).execute();
    const claimed = await orchestration.claimFlowRuns("guarded", "worker-1", 10, Date.now());
    expect(claimed.map((c) => c.id)).toEqual([good]);
    const refused = (await api.store.getFlowRun(bad))!;
    expect(refused.state).toMatchObject({ type: "FAILED", name: "Failed" });
    expect(refused.state.message).toMatch(/^not started: the run's job variables set NODE_OPTIONS, and Node\.js reads it .*; work pool "guarded" does not allow it \(allow it with baton work-pool create guarded --allow-env NODE_OPTIONS\)$/);
    expect(refused.error).toMatchObject({ name: "BatonConfigError", message: refused.state.message });
    expect(refused.endTime).not.toBeNull();
    expect((await api.store.stateHistory(bad)).map((s) => s.name)).toEqual(["Scheduled", "Failed"]);

    // From the deployment's job variables, written directly too; allowed once the pool allows it.
    await api.store.db.updateTable("deployments").set({ job_variables: JSON.stringify({ env: { BATON_DATABASE_URL: "sqlite:///elsewhere.db" } }) }).where("id", "=", deployment.id).execute();
    await run(viaDeployment);
    expect(await orchestration.claimFlowRuns("guarded", "worker-1", 10, Date.now())).toEqual([]);
    expect((await api.store.getFlowRun(viaDeployment))!.state.message).toMatch(/^not started: the deployment's job variables set BATON_DATABASE_URL/);
    // An allow_env that is not a JSON list allows nothing, and claims go on.
    await api.store.db.updateTable("work_pools").set({ allow_env: "BATON_*" }).where("name", "=", "guarded").execute();
    const garbled = newId();
    await run(garbled);
    expect(await orchestration.claimFlowRuns("guarded", "worker-1", 10, Date.now())).toEqual([]);
    expect((await api.store.getFlowRun(garbled))!.state.name).toBe("Failed");
    await api.store.db.updateTable("work_pools").set({ allow_env: JSON.stringify(["BATON_DATABASE_URL"]) }).where("name", "=", "guarded").execute();
    const allowed = newId();
    await run(allowed);
    expect((await orchestration.claimFlowRuns("guarded", "worker-1", 10, Date.now())).map((c) => [c.id, c.jobVariables])).toEqual([[allowed, { env: { BATON_DATABASE_URL: "sqlite:///elsewhere.db" } }]]);
  });

  let port: number | null = null;
  async function listen(): Promise<number> {
    port ??= Number(new URL(await api.server.app.listen({ host: "127.0.0.1", port: 0 })).port);
    return port;
  }
});
