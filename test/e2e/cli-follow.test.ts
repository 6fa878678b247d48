/**
 * `baton flow-run watch` and `logs --follow` in local mode: they subscribe before reading the
 * run, print what arrives, name task runs by task key, end when the run ends — also when its
 * final state never shows up as an event (they re-read the run), but not when a deployment's
 * retry follows a Crashed or Failed state — and keep no line from before or after the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { TaskRun } from "../../src/store/types.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, startProcess, until } from "../support/processes.ts";

describe.each(e2eDialects("sqlite"))("following runs from the CLI on %s", (dialect) => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ url, cleanup } = await freshDatabaseUrl(dialect));
    store = await openStore(url);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const runningRun = async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "followed", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await store.setFlowRunState(run.id, makeState("Running"));
    return run.id;
  };
  const log = (flowRunId: string, message: string) =>
    store.applyWrites([{ kind: "log", log: { flowRunId, taskRunId: null, level: 30, message, timestamp: Date.now() } }]);

  it("watch ends when the run ends even if its final state is never seen as an event", async () => {
    const id = await runningRun();
    const watch = startProcess([BIN, "flow-run", "watch", id], { BATON_DATABASE_URL: url });
    await until(() => watch.stdout().includes("Watching"), "watch to start", 20_000);
    // Ends the run without a state-history row, so no event is ever emitted for it.
    await store.db.updateTable("flow_runs").set({ state_type: "COMPLETED", state_name: "Completed", end_time: Date.now() }).where("id", "=", id).execute();
    const code = await Promise.race([watch.exit, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
    if (code === "hung") watch.child.kill("SIGKILL");
    expect(code, watch.stderr()).toBe(0);
    expect(watch.stdout()).toMatch(/Flow run ended Completed/);
  });

  it("logs --follow prints old and new lines once, including those committed just before the end, then exits", async () => {
    const id = await runningRun();
    await log(id, "line one");
    const follow = startProcess([BIN, "flow-run", "logs", id, "--follow"], { BATON_DATABASE_URL: url });
    await until(() => follow.stdout().includes("line one"), "the stored line", 20_000);
    await log(id, "line two");
    await until(() => follow.stdout().includes("line two"), "the live line", 20_000);
    // Committed just before the end: read in the same poll as the final state, which comes first.
    await log(id, "last words");
    await store.setFlowRunState(id, makeState("Completed"));
    const code = await Promise.race([follow.exit, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
    if (code === "hung") follow.child.kill("SIGKILL");
    expect(code, follow.stderr()).toBe(0);
    const lines = follow.stdout().trim().split("\n");
    expect(lines.filter((l) => /line one/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /line two/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /last words/.test(l))).toHaveLength(1);
  });

  it("watch of a run that already ended prints its state and exits at once", async () => {
    const id = await runningRun();
    await store.setFlowRunState(id, makeState("Failed", { message: "boom" }));
    const watch = startProcess([BIN, "flow-run", "watch", id], { BATON_DATABASE_URL: url });
    expect(await watch.exit).toBe(1);
    expect(watch.stdout()).toMatch(/Flow run ended Failed/);
  });

  it("watch and logs --follow name task runs by task key, also those created after they started", async () => {
    const id = await runningRun();
    const watch = startProcess([BIN, "flow-run", "watch", id], { BATON_DATABASE_URL: url });
    const follow = startProcess([BIN, "flow-run", "logs", id, "--follow"], { BATON_DATABASE_URL: url });
    await until(() => watch.stdout().includes("Watching") && follow.child.exitCode === null, "watch to start", 20_000);
    await new Promise((r) => setTimeout(r, 500)); // logs --follow prints nothing before its first line: give it time to subscribe
    // A fan-out made at once: UUIDv7 ids made in the same second share their first 8 characters.
    const tasks: TaskRun[] = [0, 1, 2].map((i) => ({
      id: newId(), flowRunId: id, taskKey: `fit-${i}`, taskName: "fit", state: makeState("Running"), runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: Date.now(), startTime: Date.now(), endTime: null,
    }));
    await store.applyWrites(
      tasks.flatMap((t) => [
        { kind: "taskRun" as const, taskRun: t },
        { kind: "state" as const, state: { ...t.state, flowRunId: id, taskRunId: t.id } },
        { kind: "log" as const, log: { flowRunId: id, taskRunId: t.id, level: 30, message: `training ${t.taskKey}`, timestamp: Date.now() } },
      ]),
    );
    await until(() => follow.stdout().includes("training fit-2") && watch.stdout().includes("training fit-2"), "the task runs' lines", 20_000);
    await store.setFlowRunState(id, makeState("Completed"));
    expect(await watch.exit, watch.stderr()).toBe(0);
    expect(await follow.exit, follow.stderr()).toBe(0);
    for (const t of tasks) {
      expect(watch.stdout()).toContain(`| task ${t.taskKey} -> Running`);
      expect(watch.stdout()).toMatch(new RegExp(`\\| ${t.taskKey} - training ${t.taskKey}`));
      expect(follow.stdout()).toMatch(new RegExp(`\\| ${t.taskKey} - training ${t.taskKey}`));
    }
    // No task run named by (a prefix of) its id, the same for all of them.
    expect(watch.stdout()).not.toMatch(/task [0-9a-f]{8}|\| [0-9a-f]{8}\S* - /);
    expect(follow.stdout()).not.toMatch(/\| [0-9a-f]{8}\S* - /);
  });

  it("watch follows a run through its deployment's retry: Crashed then AwaitingRetry is not the end", async () => {
    const orchestration = new KyselyOrchestrationStore(store);
    await orchestration.upsertWorkPool({ name: "watched-pool" });
    const deployment = await orchestration.upsertDeployment({ name: "watched", flowName: "followed", entrypoint: "/x.ts:followed", workPool: "watched-pool", retries: 1, retryDelayMs: 0 });
    const created = await store.createFlowRun({
      id: newId(), flowName: "followed", name: "retried", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
      entrypoint: deployment.entrypoint, deploymentId: deployment.id, workPool: "watched-pool", workQueue: "default", state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
    });
    const claimAndRun = async () => {
      expect((await orchestration.claimFlowRuns("watched-pool", "w1", 10, Date.now())).map((r) => r.id)).toEqual([created.id]);
      await store.setFlowRunState(created.id, makeState("Running"));
    };
    await claimAndRun();
    const watch = startProcess([BIN, "flow-run", "watch", created.id], { BATON_DATABASE_URL: url });
    await until(() => watch.stdout().includes("Watching"), "watch to start", 20_000);
    // The deployment retries it in the same commit.
    expect((await store.setFlowRunState(created.id, makeState("Crashed", { message: "the worker died" }))).run).toMatchObject({ state: { name: "AwaitingRetry" } });
    await until(() => watch.stdout().includes("-> AwaitingRetry") || watch.child.exitCode !== null, "watch to see the retry", 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(watch.child.exitCode, watch.stdout()).toBeNull();
    expect(watch.stdout()).not.toMatch(/ended/);
    await claimAndRun();
    await store.setFlowRunState(created.id, makeState("Completed"));
    const code = await Promise.race([watch.exit, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
    if (code === "hung") watch.child.kill("SIGKILL");
    expect(code, watch.stderr()).toBe(0);
    expect(watch.stdout()).toMatch(/flow run -> Crashed \(the worker died\)[\s\S]*flow run -> AwaitingRetry[\s\S]*flow run -> Completed\nFlow run ended Completed\nTask runs: none\n$/);
  });
});
