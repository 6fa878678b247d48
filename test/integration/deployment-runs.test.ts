/**
 * A run of a deployment is made one way (services/deployment-runs.ts) whoever asks: the use
 * case on a database and through the API client, `POST /api/deployments/{name}/runs`,
 * `POST /api/flow-runs` with a deploymentId, and the scheduler. Each gets the deployment's
 * defaults under its parameters (and its schema's defaults), its tags then the run's own, once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import { RemoteOrchestrationStore } from "../../src/client/remote-orchestration.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { createDeploymentRun, deploymentRunParameters, deploymentRunTags } from "../../src/services/deployment-runs.ts";
import { DeploymentNotFoundError, InvalidParametersError, RefusedEnvironmentError, UnknownWorkQueueError } from "../../src/services/errors.ts";
import { slotRuns } from "../../src/services/scheduling.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, OrchestrationStore, RunStore } from "../../src/store/types.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import type { RefStores } from "../../src/services/config-refs.ts";

/** No variables or secrets: these runs reference none. */
const NO_VALUES: RefStores = { hasVariable: async () => false, hasSecret: async () => false };
import { DIALECTS } from "../support/databases.ts";

/** Parameters `seed` (integer, default 7 in the schema) and `depth` (required, at least 1). */
const parameterSchema = {
  type: "object",
  properties: { seed: { type: "integer", default: 7 }, depth: { type: "integer", minimum: 1 } },
  required: ["depth"],
};

describe("deployment run parameters and tags", () => {
  const deployment = { parameters: { depth: 2 }, parameterSchema, tags: ["nightly", "ml"] } as unknown as Deployment;

  it("puts the deployment's defaults under the run's own and fills in the schema's defaults", () => {
    expect(deploymentRunParameters(deployment)).toEqual({ depth: 2, seed: 7 });
    expect(deploymentRunParameters(deployment, { depth: 5, seed: 1 })).toEqual({ depth: 5, seed: 1 });
    expect(deployment.parameters).toEqual({ depth: 2 }); // the deployment's own are left alone
  });

  it("refuses parameters the schema refuses, naming each field", () => {
    const refusal = (() => {
      try {
        deploymentRunParameters(deployment, { depth: 0, seed: 1.5 });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(InvalidParametersError);
    expect((refusal as Error).message).toMatch(/parameters\.depth must be >= 1/);
    expect((refusal as Error).message).toMatch(/parameters\.seed must be integer/);
  });

  it("lists the deployment's tags, then the run's, each once: merging again changes nothing", () => {
    const tags = deploymentRunTags(deployment, ["urgent", "ml"]);
    expect(tags).toEqual(["nightly", "ml", "urgent"]);
    expect(deploymentRunTags(deployment, tags)).toEqual(tags);
  });
});

describe.each(DIALECTS)("deployment runs on %s", (dialect) => {
  let api: ApiHarness;
  let deployment: Deployment;
  /** The use case's stores: on the database, and through the API client (remote mode). */
  let backends: { name: string; runs: RunStore; deployments: OrchestrationStore }[];

  beforeAll(async () => {
    api = await apiHarness(dialect);
    const orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertWorkPool({ name: "dr-pool" });
    deployment = await orchestration.upsertDeployment({
      name: "dr-dep", flowName: "drFlow", entrypoint: "flows.ts:drFlow", workPool: "dr-pool", tags: ["nightly", "ml"], parameters: { depth: 2 }, parameterSchema,
    });
    const address = await api.server.app.listen({ host: "127.0.0.1", port: 0 });
    const client = new ApiClient({ baseUrl: `${address}/api` });
    backends = [
      { name: "database", runs: api.store, deployments: orchestration },
      { name: "API client", runs: new RemoteStore(client), deployments: new RemoteOrchestrationStore(client) },
    ];
  });
  afterAll(() => api.close());

  it("makes the same run on the database and through the API client", async () => {
    for (const { name, runs, deployments } of backends) {
      const { run } = await createDeploymentRun({ runs, deployments, refs: NO_VALUES }, "dr-dep", { parameters: { depth: 3 }, tags: ["urgent", "nightly"], message: `made on the ${name}` });
      const stored = (await api.store.getFlowRun(run.id))!;
      expect(stored, name).toMatchObject({
        deploymentId: deployment.id, flowName: "drFlow", entrypoint: "flows.ts:drFlow", workPool: "dr-pool", workQueue: "default",
        parameters: { depth: 3, seed: 7 }, tags: ["nightly", "ml", "urgent"], state: { name: "Scheduled", message: `made on the ${name}` },
      });
    }
  });

  it("refuses an unknown deployment, bad parameters and job variables the pool does not allow, alike on both", async () => {
    for (const { name, runs, deployments } of backends) {
      const stores = { runs, deployments, refs: NO_VALUES };
      await expect(createDeploymentRun(stores, "no-such-dep"), name).rejects.toBeInstanceOf(DeploymentNotFoundError);
      await expect(createDeploymentRun(stores, "dr-dep", { parameters: { depth: "deep" } }), name).rejects.toThrow(InvalidParametersError);
      const env = createDeploymentRun(stores, "dr-dep", { jobVariables: { env: { NODE_OPTIONS: "--require=/x" } } }, { jobVariablesField: "--env" });
      await expect(env, name).rejects.toThrow(RefusedEnvironmentError);
      await expect(env, name).rejects.toThrow(/^--env\.env\.NODE_OPTIONS is refused: .*work pool "dr-pool" does not allow it/);
    }
  });

  it("merges alike through POST /api/deployments/{name}/runs and POST /api/flow-runs with a deploymentId", async () => {
    const viaRuns = await api.call("POST", "/api/deployments/dr-dep/runs", { parameters: { depth: 4 }, tags: ["ml", "urgent"] });
    expect(viaRuns.status, JSON.stringify(viaRuns.body)).toBe(201);
    expect(viaRuns.body).toMatchObject({ parameters: { depth: 4, seed: 7 }, tags: ["nightly", "ml", "urgent"] });
    const viaFlowRuns = await api.call("POST", "/api/flow-runs", { flowName: "drFlow", deploymentId: deployment.id, workPool: "dr-pool", parameters: { depth: 4 }, tags: ["urgent"], state: "Scheduled" });
    expect(viaFlowRuns.status, JSON.stringify(viaFlowRuns.body)).toBe(201);
    expect(viaFlowRuns.body).toMatchObject({ parameters: { depth: 4, seed: 7 }, tags: ["nightly", "ml", "urgent"] });
    expectError(await api.call("POST", "/api/deployments/no-such-dep/runs", {}), 404, /deployment "no-such-dep" does not exist/);
    const bad = await api.call("POST", "/api/deployments/dr-dep/runs", { parameters: { depth: 0 } });
    expectError(bad, 400, /parameters\.depth must be >= 1/);
    expect(bad.body.error.code).toBe("INVALID_PARAMETERS");
  });

  it("takes the run's own name, start time and a queue of the pool; refuses a queue the pool does not have, naming the field", async () => {
    await new KyselyOrchestrationStore(api.store).upsertWorkQueue({ poolName: "dr-pool", name: "urgent", priority: 1 });
    const at = Date.now() + 3_600_000;
    const made = await api.call("POST", "/api/deployments/dr-dep/runs", { name: "by hand", workQueue: "urgent", scheduledAt: at });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: "by hand", workQueue: "urgent", workPool: "dr-pool", state: { name: "Scheduled", scheduledAt: at } });
    const unknown = await api.call("POST", "/api/deployments/dr-dep/runs", { workQueue: "nope" });
    expectError(unknown, 400, /^body\.workQueue: work pool "dr-pool" has no queue "nope"; its queues are "default", "urgent"$/);
    expectError(await api.call("POST", "/api/deployments/dr-dep/runs", { name: "" }), 400, /body\.name/);
    for (const { name, runs, deployments } of backends)
      await expect(createDeploymentRun({ runs, deployments, refs: NO_VALUES }, "dr-dep", { workQueue: "nope" }), name).rejects.toBeInstanceOf(UnknownWorkQueueError);
  });

  it("makes the scheduler's runs the same way, one per slot", async () => {
    const orchestration = new KyselyOrchestrationStore(api.store);
    const slot = Date.now() + 3_600_000;
    expect(await orchestration.scheduleRuns(deployment, slotRuns(deployment, [slot, slot]))).toBe(1);
    const [scheduled] = (await api.store.listFlowRuns({ deploymentId: deployment.id, limit: 50 })).filter((r) => r.expectedStartTime === slot);
    expect(scheduled).toMatchObject({ parameters: { depth: 2, seed: 7 }, tags: ["nightly", "ml"], state: { name: "Scheduled", scheduledAt: slot, message: "created by the scheduler" } });
  });
});
