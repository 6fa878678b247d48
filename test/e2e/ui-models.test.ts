/**
 * The dashboard's Models page in Chromium against a server process: the list of models with
 * their aliases; a model's page with its versions (metrics side by side, parameters, the link to
 * the training run) and the history of alias moves, a refusal with its reason and a rollback.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serialize } from "../../src/core/serializer.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

describe("dashboard in Chromium: models", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists models, and shows a model's versions, aliases, training run and alias history", async () => {
    const run = (await h.api<{ id: string }>("/flow-runs", { flowName: "train-weather", name: "train-weather-1" })).id;
    const version = (metrics: Record<string, number>, fields: Record<string, unknown> = {}) => h.api("/models/weather/versions", { serializer: "devalue/1", value: serialize({ w: 1 }), metrics, ...fields });
    await version({ macroF1: 0.71, loss: 0.3 }, { flowRunId: run, params: { depth: 4 } });
    await version({ macroF1: 0.64, loss: 0.35 });
    await version({ macroF1: 0.8, loss: 0.2 });
    const gate = [{ metric: "macroF1", betterThanCurrent: true }];
    await h.api("/models/weather/promote", { version: 1, force: true });
    await h.api("/models/weather/promote", { version: 2, gate });
    await h.api("/models/weather/promote", { version: 3, gate });
    await h.api("/models/weather/rollback", {});

    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Models" }).click();
    const row = page.locator("[data-testid=model-row]", { hasText: "weather" });
    await row.waitFor();
    expect(await row.textContent()).toContain("production → v1");
    await row.locator("a").click();

    await page.locator("[data-testid=version-row]").first().waitFor();
    expect(await h.attrs("[data-testid=version-row]", "data-version")).toEqual(["3", "2", "1"]);
    const first = page.locator("[data-testid=version-row][data-version='1']");
    expect(await first.textContent()).toContain("0.7100");
    expect(await first.textContent()).toContain('{"depth":4}');
    expect(await first.textContent()).toContain("production");
    expect(await first.locator(`a[href="/runs/${run}"]`).count()).toBe(1);
    expect(await page.locator("[data-testid=model-versions] th").allTextContents()).toEqual(expect.arrayContaining(["loss", "macroF1"]));

    // Each version's lineage: the Assets page's graph of model://weather at that version.
    await first.locator("a", { hasText: "data it came from" }).click();
    await page.locator(".lineage").waitFor();
    expect(new URL(page.url()).searchParams.get("key")).toBe("model://weather");
    expect(new URL(page.url()).searchParams.get("version")).toBe("v1");
    expect(await page.locator(".lineage-node.root").textContent()).toContain("v1");
    await page.goBack();
    await page.locator("[data-testid=move-row]").first().waitFor();

    expect(await h.attrs("[data-testid=move-row]", "data-kind")).toEqual(["rolled-back", "promoted", "refused", "promoted"]);
    const refused = page.locator("[data-testid=move-row][data-kind=refused]");
    expect(await refused.textContent()).toContain("macroF1 0.64 is not better than version 1's 0.71");
    expect(await page.locator("[data-testid=move-row][data-kind=promoted]").first().textContent()).toContain("(undone)");
    expect(await page.locator("[data-testid=model-aliases]").textContent()).toBe("production → v1");
  });
});
