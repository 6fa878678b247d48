/**
 * In Chromium against a server process: the Usage page (linked from the nav) shows a priced
 * pool's runs with their cost, the pool's card its prices, and a run's page and a task's page show what they used — the
 * task's recorded by a flow run in remote mode, through the API's batch. The page's bars (widths
 * set from script) break no rule of the Content-Security-Policy.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./ui-harness.ts";

const H = 3_600_000;

describe("dashboard in Chromium: usage and resources", () => {
  let h: Harness;
  let page: Page;
  let runId: string;

  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
    await page.addInitScript(`window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`);
    runId = await h.runFlow("pipeline");
    await h.api("/work-pools", { name: "priced", costPerHour: 2, costPerCpuHour: 1, currency: "EUR" });
    const run = await h.api<{ id: string }>("/flow-runs", { flowName: "billed", workPool: "priced", state: "Pending" });
    await h.api(`/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    // Half an hour at 2 EUR/h and an hour of CPU at 1 EUR/h: 2 EUR.
    const resources = { wallMs: H / 2, cpuUserMs: H, cpuSystemMs: 0, peakMemoryBytes: 64 * 1024 * 1024, retriedWallMs: 0, retriedCpuMs: 0 };
    await h.api(`/flow-runs/${run.id}/set-state`, { state: { name: "Completed" }, resources });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it("lists usage per day and per pool with its cost, and shows a run's and a task's resources", async () => {
    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Usage" }).click();
    await page.locator("[data-testid=usage-days] tbody tr").first().waitFor();
    await page.locator("select[aria-label='group by']").selectOption("pool");
    const priced = page.locator("[data-testid=usage-group]", { hasText: "priced" });
    await priced.waitFor();
    expect(await priced.locator("[data-testid=usage-cost]").textContent()).toBe("2.00 EUR");
    expect((await h.search()).get("by")).toBe("pool");
    expect(await page.evaluate("window.__csp")).toEqual([]);

    await page.goto(`${h.url}/work-pools`);
    expect(await page.locator("[data-pool=priced] [data-testid=pool-prices]").textContent()).toBe(" · 2 EUR/h, 1 EUR/CPU h");

    await page.goto(`${h.url}/runs/${runId}`);
    expect(await page.locator("[data-testid=run-cpu]").textContent()).toMatch(/\(user .*, system .*\) over .* of wall time/);
    expect(await page.locator("[data-testid=run-memory]").textContent()).toMatch(/\d+ MB/);
    const tasks = await h.api<{ items: { id: string; resources?: { wallMs: number } | null }[] }>(`/flow-runs/${runId}/task-runs`);
    const measured = tasks.items.find((t) => t.resources);
    expect(measured, "a task run of the remote flow run recorded its resources").toBeDefined();
    await page.goto(`${h.url}/task-runs/${measured!.id}`);
    expect(await page.locator("[data-testid=task-cpu]").textContent()).toMatch(/of wall time/);
  }, 120_000);
});
