/**
 * The Experiments page in Chromium against a server process: a hyper-parameter search (a map of
 * thread tasks run with `baton run`) shows one row per configuration; a metric's header sorts
 * the rows by it; two selected runs compare side by side, the parameters that differ
 * highlighted and one curve per run; the URL holds the sort and the selection (a deep link).
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, until } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const SEARCH = path.join(ROOT, "test/e2e/fixtures/ui-experiment-flows.ts");

describe("dashboard in Chromium: experiments", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists a search's configurations, sorts by a metric, and compares two runs", async () => {
    await h.runFlow("uiSearch", [], SEARCH);

    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Experiments" }).click();
    await page.locator("[data-testid=experiment-row] a", { hasText: "ui-search" }).click();
    const rows = page.locator("[data-testid=experiment-run]");
    await until(async () => (await rows.count()) === 3, "one row per configuration");
    const accuracies = () => page.locator("[data-testid=experiment-run] td[data-metric=accuracy]").allTextContents();
    const lrs = () => page.locator("[data-testid=experiment-run] td[data-param=lr]").allTextContents();
    expect(await page.locator("[data-testid=experiment-runs] th[data-param]").evaluateAll((ths: { dataset: { param?: string } }[]) => ths.map((t) => t.dataset.param))).toEqual(["depth", "lr", "optimizer"]);

    // Sorting by a metric: ascending on the first click, descending on the second.
    const header = page.locator("th[data-sort-metric=accuracy]");
    await header.click();
    await until(async () => (await accuracies()).join() === "0.8,0.85,0.9", "sorted by accuracy, ascending");
    await header.click();
    await until(async () => (await accuracies()).join() === "0.9,0.85,0.8", "sorted by accuracy, descending");
    expect(await header.getAttribute("aria-sort")).toBe("descending");
    expect((await h.search()).get("sort")).toBe("accuracy:desc");
    expect(await lrs()).toEqual(["0.01", "0.1", "0.1"]);

    // The two best runs: lr and depth differ, optimizer does not.
    const ids = (await h.attrs("[data-testid=experiment-run]", "data-run")) as string[];
    await rows.nth(0).locator("[data-testid=select-run]").check();
    await rows.nth(1).locator("[data-testid=select-run]").check();
    await until(async () => (await h.search()).get("runs") === `${ids[0]},${ids[1]}`, "the selection in the URL");
    const compare = page.locator("[data-testid=experiment-compare]");
    const checkCompare = async () => {
      await compare.locator("[data-testid=compare-params] tr[data-param=optimizer]").waitFor();
      expect(await h.attrs("[data-testid=compare-params] tr[data-param]", "data-differs")).toEqual(["true", "true", "false"]); // depth, lr, optimizer
      expect(await compare.locator("td.differs").count()).toBe(4);
      expect(await compare.locator("tr[data-param=optimizer] td.differs").count()).toBe(0);
      // One curve per selected run, five steps each; a single-step metric plots one point per run.
      const loss = compare.locator("[data-testid=metric-chart][data-metric=loss]");
      await loss.waitFor();
      expect(await h.attrs("[data-metric=loss] [data-testid=metric-line]", "data-run")).toEqual([ids[0], ids[1]]);
      const points = await loss.locator("polyline").evaluateAll((ls: { getAttribute(n: string): string | null }[]) => ls.map((l) => l.getAttribute("points")!.split(" ").length));
      expect(points).toEqual([5, 5]);
      expect(await compare.locator("[data-metric=accuracy] [data-testid=metric-line]").count()).toBe(2);
    };
    await checkCompare();

    // A deep link: the same URL opened afresh shows the same sort and comparison.
    await page.goto(await page.evaluate("location.href") as string);
    await until(async () => (await accuracies()).join() === "0.9,0.85,0.8", "the sort kept by the link");
    expect(await page.locator("[data-testid=select-run]:checked").count()).toBe(2);
    await checkCompare();
  });
});
