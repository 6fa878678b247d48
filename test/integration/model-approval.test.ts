/**
 * A promotion that asks a person, in a deployment's run (what a worker runs), on SQLite and
 * PostgreSQL: the run is suspended with both versions' metrics in its request; the dashboard's
 * resume (POST /api/flow-runs/{id}/resume) approves it; the run starts again from the start, its
 * registering task returns its stored result (no second version), and the alias moves once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, flow, promoteModel, registerModel, shutdown, task } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { resumeFlowRun as runClaimed } from "../../src/engine/flow-runner.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";

describe.each(DIALECTS)("promotion with a person's approval in a deployment's run on %s", (dialect) => {
  let api: ApiHarness;
  let orchestration: KyselyOrchestrationStore;
  let resultsDir: string;
  beforeAll(async () => {
    api = await apiHarness(dialect);
    resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-model-approval-"));
    await configure({ databaseUrl: api.url, resultsDir, logLevel: "silent", heartbeatMs: 100 });
    orchestration = new KyselyOrchestrationStore(api.store);
    await orchestration.upsertWorkPool({ name: "train" });
  });
  afterAll(async () => {
    await shutdown();
    await api.close();
    fs.rmSync(resultsDir, { recursive: true, force: true });
  });

  let registrations = 0;
  const fit = task(async function fitApproved(p: { f1: number }) {
    registrations++;
    return (await registerModel("approved", { value: { f1: p.f1 }, metrics: { macroF1: p.f1 } })).version;
  });
  const train = flow(async function trainApproved(p: { f1: number }) {
    const version = await fit(p);
    return promoteModel("approved", version, { gate: { metric: "macroF1", betterThanCurrent: true }, approval: true });
  });

  async function runAsWorker(id: string) {
    const claimed = await orchestration.claimFlowRuns("train", "w1", 10, Date.now());
    expect(claimed.map((r) => r.id)).toContain(id);
    return runClaimed(await getRuntime(), { fn: train.fn, options: train.options, entrypoint: train.entrypoint }, id, { claimedBy: "w1" });
  }

  it("suspends with both versions' metrics, resumes on approval without registering again, and moves the alias once", async () => {
    await registerModel("approved", { value: { f1: 0.6 }, metrics: { macroF1: 0.6 } });
    await promoteModel("approved", 1);
    const id = newId();
    await api.store.createFlowRun({
      id, flowName: train.flowName, name: "approve-me", parentFlowRunId: null, parentTaskRunId: null, parameters: { f1: 0.75 }, tags: [], version: null,
      workPool: "train", workQueue: "default", entrypoint: `/flows.ts:${train.flowName}`, state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
    });
    expect((await runAsWorker(id)).state.name).toBe("Paused");
    const request = (await api.call("GET", `/api/flow-runs/${id}/input-request`)).body;
    expect(request.description).toContain("Promote model **approved** version 2 to **production** (now version 1)?");
    expect(request.description).toContain("| macroF1 | 0.75 | 0.6 |");
    expect((await api.call("GET", "/api/models/approved/aliases/production")).body.version).toBe(1);

    const resumed = await api.call("POST", `/api/flow-runs/${id}/resume`, { input: { approve: true, comment: "looks good" } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const done = await runAsWorker(id);
    expect(done.state.name).toBe("Completed");
    expect(done.result).toEqual({ promoted: true, from: 1, to: 2 });
    expect(registrations).toBe(1);
    const model = (await api.call("GET", "/api/models/approved")).body;
    expect(model.latestVersion).toBe(2);
    expect(model.moves.map((m: { kind: string; to: number; reason: string | null }) => [m.kind, m.to, m.reason])).toEqual([
      ["promoted", 2, "looks good"],
      ["promoted", 1, null],
    ]);
  });
});
