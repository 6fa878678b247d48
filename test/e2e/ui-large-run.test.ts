/**
 * The dashboard on a run too large to read in one page of the server's task table (12,000
 * mapped task runs, read 5,000 at a time): every task run is in the virtualised table in call
 * order down to the last, the graph groups the map into one node that counts every state, and
 * the reduce's page lists all of its inputs. Times belong to bench/ui.ts, not here.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import { TASK_TABLE_PAGE } from "../../src/store/task-table.ts";
import type { TaskRun, WriteOp } from "../../src/store/types.ts";
import { until } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const MAPPED = 12_000;

describe("dashboard in Chromium: a run of 12,000 task runs", () => {
  let h: Harness;
  let page: Page;
  let runId = "";

  beforeAll(async () => {
    expect(MAPPED).toBeGreaterThan(2 * TASK_TABLE_PAGE);
    h = await startHarness();
    page = h.page;
    const store = await openStore(`sqlite://${path.join(h.dir, "baton.db")}`);
    try {
      const run = await store.createFlowRun({ id: newId(), flowName: "wide", name: "wide-run", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
      runId = run.id;
      await store.setFlowRunState(run.id, makeState("Running"));
      const now = Date.now();
      // Created in call order fit-0, fit-1, … fit-11999, then the reduce: not the keys' text order.
      const task = (key: string, name: string, i: number, state = makeState("Completed", { timestamp: now + i })): TaskRun => ({
        id: newId(), flowRunId: run.id, taskKey: key, taskName: name, state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now + i, startTime: now + i, endTime: now + i + 5,
      });
      const reduce = task("reduce-0", "reduce", MAPPED);
      const ops: WriteOp[] = [];
      for (let i = 0; i < MAPPED; i++) {
        const t = task(`fit-${i}`, "fit", i, i % 1000 === 999 ? makeState("Failed", { timestamp: now + i, message: `fit ${i} diverged` }) : undefined);
        ops.push({ kind: "taskRun", taskRun: t }, { kind: "dependency", dependency: { taskRunId: reduce.id, upstreamTaskRunId: t.id, kind: "data" } });
      }
      ops.push({ kind: "taskRun", taskRun: reduce });
      await store.applyWrites(ops);
      await store.setFlowRunState(run.id, makeState("Completed"));
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists every task run in call order down to the last, and groups the map into one node with every state counted", async () => {
    await page.goto(`${h.url}/runs/${runId}`);
    const table = page.locator("[data-testid=task-runs] .virtual");
    await page.locator('.task-row[data-task="fit-0"]').waitFor();
    expect(await page.locator("h2#task-runs").textContent()).toContain(`Task runs (${(MAPPED + 1).toLocaleString("en")})`);
    expect(await table.getAttribute("data-rows")).toBe(String(MAPPED + 1));
    // Call order: fit-1 right after fit-0 (in the keys' text order fit-10 would be).
    expect((await h.attrs(".task-row[data-task]", "data-task")).slice(0, 3)).toEqual(["fit-0", "fit-1", "fit-2"]);
    expect(await page.locator("select[aria-label='task state filter'] option").allTextContents()).toContain("Failed (12)");

    const fit = page.locator('g[data-node="fit"]');
    await fit.waitFor();
    expect(await fit.locator(".node-label").textContent()).toContain(`×${MAPPED.toLocaleString("en")}`);
    expect(await fit.locator(".node-sub").textContent()).toBe("11,988 Completed · 12 Failed");
    expect(await page.locator('g[data-node="reduce"]').getAttribute("data-state")).toBe("Completed");
    expect(await page.locator("path[data-edge]").count()).toBe(1);

    // Scrolled to the end, the last rows are drawn: the last fit, then the reduce.
    await table.evaluate((el: { scrollTop: number; scrollHeight: number }) => (el.scrollTop = el.scrollHeight));
    await page.locator('.task-row[data-task="reduce-0"]').waitFor();
    await page.locator(`.task-row[data-task="fit-${MAPPED - 1}"]`).waitFor();
    expect(await page.locator(`.task-row[data-task="fit-${MAPPED - 1}"]`).textContent()).toContain(`fit ${MAPPED - 1} diverged`);

    // The reduce's own page: all of its inputs.
    await page.locator('.task-row[data-task="reduce-0"]').click();
    await until(async () => (await page.locator("h2:has-text('Inputs from upstream')").textContent().catch(() => ""))?.includes(`(${MAPPED.toLocaleString("en")})`), "the reduce's inputs");
    expect(await page.locator("[data-testid=upstream]").getAttribute("data-rows")).toBe(String(MAPPED));
  });
});
