/**
 * The dashboard's Automations page in Chromium against a server process: a spec typed into the
 * form is refused with the server's error naming the field, then created and listed; an event
 * fires it and the list shows the firing's outcome; it is paused from the list; its page shows
 * the spec and the firing with each action's outcome; notification channels are listed masked.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/processes.ts";
import { SHOTS, startHarness, type Harness } from "./ui-harness.ts";

const SPEC = `name: ui-reactor
trigger:
  event: ui.poked
actions:
  - type: emit-event
    event: ui.reacted
    resource: { id: "{{ event.resource.id }}" }
`;

describe("dashboard in Chromium: automations", () => {
  let h: Harness;
  let page: Page;
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
  });
  afterAll(async () => {
    await h?.close();
  });

  const row = () => page.locator("[data-testid=automations] tr[data-automation='ui-reactor']");

  it("creates an automation through the form, lists it, shows its firing, pauses it", async () => {
    await h.api("/notification-channels", { name: "ui-mail", type: "email", settings: { url: "smtp://ops:hunter2@127.0.0.1:2525", from: "baton@example.com", to: ["ops@example.com"] } });
    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Automations" }).click();
    await page.locator("button", { hasText: "New automation" }).click();
    const editor = page.locator("textarea[aria-label='automation spec']");
    // The server's check, naming the field, next to the editor; nothing is made.
    await editor.fill(SPEC.replace("type: emit-event", "type: emit-evnt"));
    await page.locator("button", { hasText: "Create automation" }).click();
    await page.locator("[data-testid=spec-error]", { hasText: "body.actions[0].type must be one of" }).waitFor();
    await editor.fill("name: [unclosed");
    await page.locator("button", { hasText: "Create automation" }).click();
    await page.locator("[data-testid=spec-error]", { hasText: "not YAML or JSON" }).waitFor();
    await editor.fill(SPEC);
    await page.locator("button", { hasText: "Create automation" }).click();
    await row().waitFor();
    expect(await row().locator("[data-testid=automation-state]").textContent()).toBe("Active");
    expect(await row().locator("[data-testid=last-firing]").textContent()).toBe("never");
    expect(await row().textContent()).toContain("ui.poked");
    // The channels are listed, their password masked.
    const channel = await page.locator("[data-testid=notification-channels] tr[data-channel='ui-mail']").textContent();
    expect(channel).toContain("smtp://ops:***@127.0.0.1:2525");
    expect(channel).not.toContain("hunter2");

    await h.api("/events", [{ event: "ui.poked", resource: { id: "button-1" } }]);
    await until(async () => (await row().locator("[data-testid=last-firing]").textContent())?.includes("succeeded"), "the firing, succeeded", 20_000);
    await page.screenshot({ path: path.join(SHOTS, "automations.png") });

    await row().locator("button", { hasText: "Pause" }).click();
    await until(async () => (await row().locator("[data-testid=automation-state]").textContent()) === "Paused", "the automation paused");
    expect(await row().locator("button").textContent()).toBe("Resume");

    await row().locator("a", { hasText: "ui-reactor" }).click();
    await page.locator("[data-testid=automation-spec]").waitFor();
    expect(await page.locator("[data-testid=automation-spec]").textContent()).toContain("event: ui.reacted");
    expect(await page.locator("[data-testid=automation-state]").textContent()).toBe("Paused");
    const action = page.locator("[data-firing] tr[data-action='0']");
    await action.waitFor();
    expect(await action.textContent()).toMatch(/0\. emit-event\s*succeeded\s*1 attempt\(s\)/);
    await page.locator("button", { hasText: "Resume" }).click();
    await until(async () => (await page.locator("[data-testid=automation-state]").textContent()) === "Active", "the automation resumed");
  });
});
