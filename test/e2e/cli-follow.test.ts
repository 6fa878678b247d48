/**
 * `baton flow-run watch` and `logs --follow` in local mode: they subscribe before reading the
 * run, print what arrives, end when the run ends — also when its final state never shows up as
 * an event (they re-read the run) — and keep no line from before or after the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, startProcess, until } from "../support/processes.ts";

describe.each(DIALECTS)("following runs from the CLI on %s", (dialect) => {
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
});
