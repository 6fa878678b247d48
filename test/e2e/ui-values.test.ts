/**
 * The dashboard's Variables and Secrets pages and its notification channel form, in Chromium
 * against a server process: a variable is refused while its value is not JSON and when the
 * server refuses its name (beside that field), then created, expanded, edited and deleted; a
 * secret is set through a password field and its value appears in no page HTML and no answer
 * the page received; a webhook channel made with the form sends a test message to a local
 * receiver, and cannot be deleted while an automation notifies it.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpReceiver, type HttpReceiver } from "../support/notification-receivers.ts";
import { until } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const SECRET = "s3cr3t-Value-9f2c41";
const LONG = { region: "eu-west-1", zones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], buckets: { raw: "s3://raw", clean: "s3://clean" } };

describe("dashboard in Chromium: variables, secrets, notification channels", () => {
  let h: Harness;
  let page: Page;
  let receiver: HttpReceiver;
  /** Every answer body the page read (event streams excepted: they never end), read as they come. */
  const bodies: Promise<string>[] = [];
  beforeAll(async () => {
    h = await startHarness();
    page = h.page;
    receiver = await startHttpReceiver();
    page.on("response", (response) => {
      if (!(response.headers()["content-type"] ?? "").includes("text/event-stream")) bodies.push(response.text().catch(() => ""));
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const variableRow = (name: string) => page.locator(`[data-testid=variables] tr[data-variable='${name}']`);

  it("creates a variable through the form (refusing what is not JSON, and a name the server refuses), edits it and deletes it", async () => {
    await page.goto(`${h.url}/`);
    await page.locator("nav a", { hasText: "Variables" }).click();
    await page.locator("button", { hasText: "New variable" }).click();
    const form = page.locator("[data-testid=variable-form]");
    await form.locator("[aria-label='variable name']").fill("ui-config");
    await form.locator("[aria-label='variable value']").fill('{"region": "eu-west-1",');
    await form.locator("[data-testid=value-error]", { hasText: "not JSON" }).waitFor();
    expect(await form.locator("button[type=submit]").isDisabled()).toBe(true);

    // The server's refusal lands beside the field it names.
    await form.locator("[aria-label='variable value']").fill(JSON.stringify(LONG));
    await form.locator("[aria-label='variable name']").fill("bad name!");
    await form.locator("button", { hasText: "Create variable" }).click();
    await form.locator("[data-testid=name-error]", { hasText: "params.name" }).waitFor();
    expect(await form.locator("[data-testid=value-error]").count()).toBe(0);

    await form.locator("[aria-label='variable name']").fill("ui-config");
    await form.locator("[aria-label='variable tags']").fill("infra, ui");
    await form.locator("button", { hasText: "Create variable" }).click();
    await variableRow("ui-config").waitFor();
    expect(await form.count()).toBe(0);
    const cell = variableRow("ui-config").locator("[data-testid=variable-value]");
    // Cut in the list, whole when expanded.
    expect(await cell.locator("summary").textContent()).toMatch(/^\{"region":"eu-west-1".*…$/);
    await cell.locator("summary").click();
    expect(JSON.parse((await cell.locator("pre").textContent()) ?? "")).toEqual(LONG);
    expect(await variableRow("ui-config").textContent()).toContain("infra, ui");
    expect(await h.api("/variables/ui-config")).toMatchObject({ value: LONG, tags: ["infra", "ui"] });

    await variableRow("ui-config").locator("button", { hasText: "Edit" }).click();
    expect(await form.locator("[aria-label='variable name']").inputValue()).toBe("ui-config");
    await form.locator("[aria-label='variable value']").fill('"eu-central-1"');
    await form.locator("button", { hasText: "Save variable" }).click();
    await until(async () => (await cell.textContent()) === '"eu-central-1"', "the edited value listed");
    expect(await h.api("/variables/ui-config")).toMatchObject({ value: "eu-central-1", tags: ["infra", "ui"] });

    await variableRow("ui-config").locator("button", { hasText: "Delete" }).click();
    await variableRow("ui-config").locator("button", { hasText: "Yes, delete" }).click();
    await variableRow("ui-config").waitFor({ state: "detached" });
    expect(await h.api("/variables")).toEqual({ items: [] });

    // Live: a variable set through the API (as a run does) appears without a reload, well
    // before the fallback poll.
    await fetch(`${h.url}/api/variables/set-by-run`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{\"value\": 42}" });
    await variableRow("set-by-run").waitFor({ timeout: 5000 });
  });

  it("sets a secret through a password field; its value is in no page HTML and no answer the page read; deletes it", async () => {
    await page.locator("nav a", { hasText: "Secrets" }).click();
    const form = page.locator("[data-testid=secret-form]");
    await form.locator("[aria-label='secret name']").fill("db-password");
    const value = form.locator("[aria-label='secret value']");
    expect(await value.getAttribute("type")).toBe("password");
    await value.fill(SECRET);
    const sent = page.waitForRequest((r) => r.method() === "PUT" && r.url().endsWith("/api/secrets/db-password"));
    await form.locator("button", { hasText: "Set secret" }).click();
    expect(JSON.parse((await sent).postData() ?? "")).toEqual({ value: SECRET });
    const row = page.locator("[data-testid=secrets] tr[data-secret='db-password']");
    await row.waitFor();
    await page.locator("[data-testid=secret-notice]", { hasText: "Secret db-password set." }).waitFor();
    expect(await value.inputValue()).toBe("");
    // Stored as sent (an admin's door out, not the page's).
    expect(await h.api("/secrets/db-password/value")).toEqual({ name: "db-password", value: SECRET });

    expect(await page.content()).not.toContain(SECRET);
    const read = await Promise.all(bodies);
    expect(read.some((b) => b.includes('"db-password"'))).toBe(true);
    expect(read.filter((b) => b.includes(SECRET))).toEqual([]);

    await row.locator("button", { hasText: "Delete" }).click();
    await row.locator("button", { hasText: "Yes, delete" }).click();
    await row.waitFor({ state: "detached" });
    expect(await h.api("/secrets")).toEqual({ items: [] });
  });

  it("creates a webhook channel with the form, sends a test to a local receiver, and deletes it once no automation notifies it", async () => {
    await page.locator("nav a", { hasText: "Automations" }).click();
    await page.locator("button", { hasText: "New channel" }).click();
    const form = page.locator("[data-testid=channel-form]");
    const spec = form.locator("textarea[aria-label='channel spec']");
    await spec.fill(JSON.stringify({ name: "ui-hook", type: "webhook", settings: { url: "not a url" } }));
    await form.locator("button", { hasText: "Save channel" }).click();
    await form.locator("[data-testid=channel-error]", { hasText: "settings.url must be an http or https URL" }).waitFor();
    await spec.fill(JSON.stringify({ name: "ui-hook", type: "webhook", settings: { url: `${receiver.url}/hook` } }));
    await form.locator("button", { hasText: "Save channel" }).click();
    const row = page.locator("[data-testid=notification-channels] tr[data-channel='ui-hook']");
    await row.waitFor();
    await page.locator("[data-testid=channel-notice]", { hasText: "Channel ui-hook created." }).waitFor();

    await row.locator("button", { hasText: "Send test" }).click();
    await row.locator("[data-testid=channel-test]", { hasText: "Test message sent" }).waitFor();
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]).toMatchObject({ method: "POST", path: "/hook" });

    // Refused while an automation notifies it, with the server's reason.
    await h.api("/automations", { name: "ui-notifier", trigger: { event: "ui.never" }, actions: [{ type: "notify", channel: "ui-hook" }] });
    await row.locator("button", { hasText: "Delete" }).click();
    await row.locator("button", { hasText: "Yes, delete" }).click();
    await row.locator("[data-testid=delete-error]", { hasText: "used by automation(s) ui-notifier" }).waitFor();

    const removed = await fetch(`${h.url}/api/automations/ui-notifier`, { method: "DELETE" });
    expect(removed.status).toBe(204);
    await row.locator("button", { hasText: "Delete" }).click();
    await row.locator("button", { hasText: "Yes, delete" }).click();
    await row.waitFor({ state: "detached" });
    expect(await h.api("/notification-channels")).toEqual({ items: [] });
  });
});

describe("dashboard in Chromium: secrets with a viewer key", () => {
  const ADMIN_KEY = "ui-values-admin-1";
  const VIEWER_KEY = "ui-values-viewer-1";
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ adminKey: ADMIN_KEY, moreKeys: [`viewer:${VIEWER_KEY}`] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists the names and says only an admin may change secrets, with no form or delete buttons; nor does it offer to change variables", async () => {
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
    expect((await fetch(`${h.url}/api/secrets/api-token`, { method: "PUT", headers, body: JSON.stringify({ value: SECRET }) })).status).toBe(201);
    expect((await fetch(`${h.url}/api/variables/region`, { method: "PUT", headers, body: JSON.stringify({ value: "eu" }) })).status).toBe(201);
    const { page } = h;
    await page.goto(`${h.url}/secrets`);
    await page.locator("[data-testid=api-key]").fill(VIEWER_KEY);
    await page.locator("[data-testid=sign-in-submit]").click();
    await page.locator("[data-testid=secrets] tr[data-secret='api-token']").waitFor();
    expect(await page.locator("[data-testid=secrets-admin-only]").textContent()).toContain("Only an admin API key may set or delete secrets");
    expect(await page.locator("[data-testid=secret-form]").count()).toBe(0);
    expect(await page.locator("[data-testid=secrets] button").count()).toBe(0);
    expect(await page.content()).not.toContain(SECRET);

    // A viewer may read variables but neither set nor delete them: the page offers neither.
    await page.locator("nav a", { hasText: "Variables" }).click();
    const row = page.locator("[data-testid=variables] tr[data-variable='region']");
    await row.waitFor();
    expect(await page.locator("section button").count()).toBe(0);
  });
});
