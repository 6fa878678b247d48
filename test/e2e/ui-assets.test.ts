/**
 * The dashboard's Assets page in Chromium against a server process, after a real pipeline ran
 * twice on the same data (`baton run`, remote mode): every asset with one version; choosing the
 * model shows its version and its upstream lineage graph back to the raw data through the task
 * runs; the raw data's downstream graph reaches the model; clicking a node opens its asset.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ROOT, until } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/asset-flows.ts");

describe("dashboard in Chromium: assets", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
    for (let i = 0; i < 2; i++) {
      const ran = await cli(["run", FLOWS, "--flow", "pipeline"], h.env);
      expect(ran.code, ran.stderr).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const versionKeys = async () => (await h.attrs("[data-testid=lineage-node][data-kind=version]", "data-key")).sort();

  it("lists the assets, shows a version's lineage both ways, and opens an asset from the graph", async () => {
    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Assets" }).click();
    await page.locator("[data-testid=asset-row]").first().waitFor();
    expect((await h.attrs("[data-testid=asset-row]", "data-key")).sort()).toEqual(["dataset://features", "file://data/raw.csv", "model://toy"]);
    // Two runs on the same data: one version each.
    for (const row of await page.locator("[data-testid=asset-row] td:nth-child(2)").allTextContents()) expect(row).toBe("1");

    await page.locator("[data-testid=asset-row][data-key='model://toy']").click();
    await page.locator("[data-testid=version-row][data-version=v1]").waitFor();
    expect((await h.search()).get("key")).toBe("model://toy");
    await page.locator("[data-testid=lineage-graph]").waitFor();
    await until(async () => (await versionKeys()).length === 3, "the model's upstream lineage down to the raw data");
    expect(await versionKeys()).toEqual(["dataset://features", "file://data/raw.csv", "model://toy"]);
    const runs = await page.locator("[data-testid=lineage-node][data-kind=run]").allTextContents();
    expect(runs.join(" ")).toMatch(/fit-0/);
    expect(runs.join(" ")).toMatch(/features-0/);
    expect(await page.locator("[data-testid=lineage-edge]").count()).toBeGreaterThanOrEqual(5);

    // The raw data's downstream graph, from a click on its node.
    await page.locator("[data-testid=lineage-node][data-key='file://data/raw.csv']").click();
    await until(async () => (await h.search()).get("key") === "file://data/raw.csv", "the raw data's asset opened");
    await page.locator("[data-testid=lineage-downstream]").click();
    await until(async () => (await h.search()).get("direction") === "downstream", "downstream chosen");
    await until(async () => (await versionKeys()).length === 3, "the raw data's downstream lineage up to the model");
    expect(await versionKeys()).toEqual(["dataset://features", "file://data/raw.csv", "model://toy"]);
    const root = page.locator("[data-testid=lineage-node].root");
    expect(await root.getAttribute("data-key")).toBe("file://data/raw.csv");

    // A run's page lists what it read and wrote, each opening its asset.
    const run = (await h.api<{ items: { id: string }[] }>("/flow-runs?flow=assetCliPipeline&limit=1")).items[0]!.id;
    await page.goto(`${h.url}/runs/${run}`);
    await page.locator("[data-testid=run-asset]").first().waitFor();
    expect((await h.attrs("[data-testid=run-asset]", "data-kind")).sort()).toEqual(["read", "wrote", "wrote", "wrote"]);
    await page.locator("[data-testid=run-asset][data-kind=wrote] a", { hasText: "model://toy" }).click();
    await until(async () => (await h.search()).get("key") === "model://toy", "the model's asset opened from the run");
    await page.locator("[data-testid=version-row][data-version=v1]").waitFor();
  });
});
