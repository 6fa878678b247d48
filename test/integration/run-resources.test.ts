/**
 * Resource accounting (on SQLite and PostgreSQL): a CPU-bound task shows CPU close to its wall
 * time, on the event loop and on a thread; a memory-heavy task's peak is at least what it held;
 * a retried attempt's share is recorded; the flow run gets its process's figures with its final
 * state.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, shutdown } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { resourceFlow } from "./fixtures/resource-tasks.ts";

const MB = 1024 * 1024;

describe.each(DIALECTS)("run resources on %s", (dialect) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-resources-"));
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    await configure({ databaseUrl: db.url, resultsDir: path.join(dir, "results"), logLevel: "silent" });
  });
  afterAll(async () => {
    await shutdown();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("records wall, CPU and peak memory of tasks and of the flow run", async () => {
    const run = await resourceFlow.run({ spinMs: 1000, mb: 200, nonce: dialect });
    expect(run.state.name).toBe("Completed");
    const store = (await getRuntime()).store;
    const tasks = new Map((await store.listTaskRuns(run.id)).map((t) => [t.taskName, t]));
    // CPU ≈ wall for a busy loop: on a thread, as much of the wall time as the machine let the
    // thread run (the task reads its share from the scheduler itself: 1 on an idle machine).
    const share = (run.result as { onCpuShare: number }).onCpuShare;
    for (const [name, expected] of [["spinLoop", 1], ["spinThread", share]] as const) {
      const r = tasks.get(name)!.resources!;
      const cpu = (r.cpuUserMs ?? 0) + (r.cpuSystemMs ?? 0);
      expect(r.wallMs, name).toBeGreaterThanOrEqual(1000);
      expect(Math.abs(cpu - r.wallMs * expected) / (r.wallMs * expected), `${name}: cpu ${cpu} ms, wall ${r.wallMs} ms, on a CPU ${Math.round(expected * 100)}%`).toBeLessThan(0.3);
    }
    for (const name of ["allocate", "allocateThread"]) expect(tasks.get(name)!.resources!.peakMemoryBytes, name).toBeGreaterThanOrEqual(200 * MB);
    const flaky = tasks.get("flakyOnce")!;
    expect(flaky.runCount).toBe(2);
    expect(flaky.resources!.retriedWallMs).toBeGreaterThanOrEqual(40);
    expect(flaky.resources!.wallMs).toBeGreaterThanOrEqual(flaky.resources!.retriedWallMs + 40);

    const flowRun = (await store.getFlowRun(run.id))!;
    const r = flowRun.resources!;
    expect(r.wallMs).toBeGreaterThanOrEqual(2000);
    expect(r.wallMs).toBeLessThanOrEqual(flowRun.endTime! - flowRun.startTime! + 50);
    // The process's CPU covers the thread's spin too.
    expect(r.cpuUserMs! + r.cpuSystemMs!).toBeGreaterThanOrEqual(tasks.get("spinThread")!.resources!.cpuUserMs!);
    // A task on the event loop: its synchronous part's hold of the thread, as user time.
    expect(tasks.get("spinLoop")!.resources).toMatchObject({ cpuSystemMs: null });
    expect(tasks.get("spinThread")!.resources!.cpuSystemMs).not.toBeNull();
    expect(r.peakMemoryBytes).toBeGreaterThanOrEqual(200 * MB);
  });
});
