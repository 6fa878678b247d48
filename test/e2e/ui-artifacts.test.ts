/**
 * The dashboard's artifacts in Chromium against a server process: the Artifacts page lists the
 * latest artifact of each key with its run, and a key's history; markdown holding a <script>
 * and an onerror handler renders without running either; a table sorts by the column clicked;
 * a progress bar moves when the artifact is updated, without a reload; an SVG with a script is
 * shown through <img> from its sandboxed content URL.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { until } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const HOSTILE = "# Nightly report\n\nAll good.\n\n<script>window.__pwned = 'script'</script>\n\n<img src=x onerror=\"window.__pwned = 'onerror'\">";
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><script>parent.__pwned = 'svg'</script><rect width="40" height="20" fill="teal"/></svg>`;

describe("dashboard in Chromium: artifacts", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
  });
  afterAll(async () => {
    await h?.close();
  });

  const artifact = (flowRunId: string, fields: Record<string, unknown>) => h.api("/artifacts", { id: newId(), flowRunId, key: null, description: null, ...fields });
  const patch = async (id: string, body: unknown) => {
    const res = await fetch(`${h.url}/api/artifacts/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const pwned = () => page.evaluate("window.__pwned ?? null");

  it("lists the latest of each key, renders markdown safely, sorts a table and moves a progress bar live", async () => {
    const older = (await h.api<{ id: string }>("/flow-runs", { flowName: "nightly", name: "nightly-older" })).id;
    const run = (await h.api<{ id: string }>("/flow-runs", { flowName: "nightly", name: "nightly-latest" })).id;
    await artifact(older, { key: "report", type: "markdown", data: "# Old report" });
    await artifact(run, { key: "report", type: "markdown", data: HOSTILE, description: "the nightly summary" });
    await artifact(run, { key: "scores", type: "table", data: [{ model: "b", score: 0.7 }, { model: "a", score: 0.91 }, { model: "c", score: 0.65 }] });
    const progress = newId();
    await h.api("/artifacts", { id: progress, flowRunId: run, key: "training", type: "progress", data: 20 });
    await artifact(run, { key: "curve", type: "image", data: {}, content: Buffer.from(SVG).toString("base64") });

    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Artifacts" }).click();
    const rows = page.locator("[data-testid=artifact-row]");
    await rows.first().waitFor();
    expect((await h.attrs("[data-testid=artifact-row]", "data-key")).sort()).toEqual(["curve", "report", "scores", "training"]);
    const report = page.locator("[data-testid=artifact-row][data-key=report]");
    expect(await report.textContent()).toContain("nightly-latest");

    // The key's latest version drawn, its history of both runs; the markdown's script and handler never ran.
    // (On the key: the row's middle is its run's link.)
    await report.locator("td").first().click();
    await page.locator("[data-testid=artifact-history] [data-testid=markdown] h1", { hasText: "Nightly report" }).waitFor();
    await until(async () => (await page.locator("[data-testid=history-row]").count()) === 2, "the report's two versions");
    expect(await page.locator("[data-testid=history-row]").first().textContent()).toContain("nightly-latest");
    expect(await page.locator("[data-testid=markdown] script").count()).toBe(0);
    expect(await page.locator("[data-testid=markdown] [onerror]").count()).toBe(0);
    expect(await pwned()).toBeNull();
    expect((await h.search()).get("key")).toBe("report");

    // On the run's page: the table sorts by the column clicked, both ways.
    await page.goto(`${h.url}/runs/${run}`);
    const table = page.locator("[data-artifact=scores] [data-testid=artifact-table]");
    await table.waitFor();
    const models = () => table.locator("tbody tr td:first-child").allTextContents();
    expect(await models()).toEqual(["b", "a", "c"]);
    await table.locator("th", { hasText: "score" }).click();
    expect(await models()).toEqual(["c", "b", "a"]);
    await table.locator("th", { hasText: "score" }).click();
    expect(await models()).toEqual(["a", "b", "c"]);
    await table.locator("th", { hasText: "model" }).click();
    expect(await models()).toEqual(["a", "b", "c"]);

    // The SVG through <img>: it loads, and its script does not run.
    const img = page.locator("[data-artifact=curve] img[data-testid=artifact-image]");
    await img.waitFor();
    await until(async () => (await img.evaluate((el: { naturalWidth: number }) => el.naturalWidth)) > 0, "the SVG image loaded");
    expect(await pwned()).toBeNull();

    // The progress bar follows updates as they are made, with no reload.
    const bar = page.locator("[data-artifact=training] [data-testid=progress]");
    expect(await bar.getAttribute("aria-valuenow")).toBe("20");
    // A mark on the page: a reload would lose it.
    await page.evaluate("window.__samePage = true");
    await patch(progress, { flowRunId: run, data: 65 });
    await until(async () => (await bar.getAttribute("aria-valuenow")) === "65", "the progress bar at 65");
    await patch(progress, { flowRunId: run, data: 100 });
    await until(async () => (await bar.getAttribute("aria-valuenow")) === "100", "the progress bar at 100");
    expect(await page.evaluate("window.__samePage")).toBe(true);
    expect(await page.locator("[data-artifact=training]").textContent()).toContain("updated");
  });
});
