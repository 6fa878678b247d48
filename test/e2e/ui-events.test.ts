/**
 * The dashboard's Events page and a run's events in Chromium against a server process: events
 * arrive live (posted through the API, a deployment made, a flow's emitEvent), filter by pattern
 * and resource through the URL, open to their JSON, and link to the run they concern.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, until } from "../support/processes.ts";
import { SHOTS, startHarness, type Harness } from "./ui-harness.ts";

const EVENT_FLOWS = path.join(ROOT, "test/e2e/fixtures/event-flows.ts");

describe("dashboard in Chromium: events", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
  });
  afterAll(async () => {
    await h?.close();
  });

  const shownEvents = () => h.attrs("[data-testid=events] tr[data-event]", "data-event");

  it("shows new events live, filters them by pattern and resource, opens one's JSON", async () => {
    await h.api("/events", [{ event: "data.arrived", resource: { id: "s3://landing/a.csv" }, payload: { size: 1 } }]);
    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Events" }).click();
    await page.locator("[data-testid=events-live]", { hasText: "Live" }).waitFor();
    await until(async () => (await shownEvents()).includes("data.arrived"), "the stored event");
    // Live: made after the page opened.
    await h.api("/events", [{ event: "model.trained", resource: { id: "model-1", name: "churn" }, payload: { accuracy: 0.93 } }]);
    await h.api("/work-pools", { name: "ui-events-pool" });
    await until(async () => (await shownEvents()).slice(0, 2).sort().join() === "baton.work-pool.created,model.trained", "the live events", 10_000);
    await page.locator("tr[data-event='model.trained']").click();
    expect(JSON.parse((await page.locator("[data-testid=event-json]").textContent())!)).toMatchObject({ event: "model.trained", resource: { id: "model-1" }, payload: { accuracy: 0.93 } });
    await page.screenshot({ path: path.join(SHOTS, "events.png") });

    await page.locator("input[aria-label='event filter']").fill("data.*");
    await page.locator("input[aria-label='event filter']").press("Enter");
    await until(async () => (await shownEvents()).join() === "data.arrived", "the data.* filter");
    expect((await h.search()).get("event")).toBe("data.*");
    await h.api("/events", [{ event: "model.trained", resource: { id: "model-2" } }, { event: "data.arrived", resource: { id: "s3://landing/b.csv" } }]);
    await until(async () => (await shownEvents()).join() === "data.arrived,data.arrived", "a new data.* event, and no other");
    await page.locator("input[aria-label='event filter']").fill("");
    await page.locator("input[aria-label='resource filter']").fill("model-1");
    await page.locator("button", { hasText: "Filter" }).click();
    await until(async () => (await shownEvents()).join() === "model.trained", "the resource filter");
  });

  it("lists a run's events on its page, live, linking back to the run", async () => {
    const runId = await h.runFlow("emitting", ["--param", "key=s3://landing/ui.csv"], EVENT_FLOWS);
    await page.goto(`${h.url}/runs/${runId}`);
    // Its own events, and the transitions Baton recorded (the run's Pending, Running, Completed).
    const shown = async () => (await h.attrs("[data-testid=run-events] tr[data-event]", "data-event")) as string[];
    await until(async () => (await shown()).filter((e) => !e.startsWith("baton.")).sort().join() === "data.loaded,pipeline.started", "the run's events");
    await until(async () => (await shown()).includes("baton.flow-run.Completed"), "the run's transitions");
    // The events page links a data.loaded event to the run that emitted it.
    await page.goto(`${h.url}/events?resource=s3://landing/ui.csv`);
    await page.locator("tr[data-event='data.loaded'] .related-chip", { hasText: "flow-run" }).locator("a").click();
    await until(async () => (await page.evaluate("location.pathname")) === `/runs/${runId}`, "the run's page");
  });
});
