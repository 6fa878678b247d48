/**
 * The dashboard by role, in Chromium (issue 11): signed in with a stored viewer key it shows
 * every page and no action a viewer cannot perform (no cancel, retry, pause, run, reset, edit,
 * delete or create); an admin on the same pages sees those actions (so the check can fail); an
 * account signs in with its user name and password.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./ui-harness.ts";

const ADMIN_KEY = "ui-roles-admin-1";

/** Buttons that change nothing: theme, sign-out, copying, filtering, paging, loading more. */
// Views, not actions: the graph's zoom (−, +, Fit, 100%), the task table's sortable headers, "Jump to running".
const HARMLESS = /^(☾ Dark|☀ Light|Sign out|Copy.*|Filter|Clear filters|Load older.*|Older.*|Newer.*|First page.*|Load more.*|Show .*|.*more.*|Close.*|checkbox follow logs|−|\+|Fit|\d+%|Key|State|Attempts|Started|Duration|Message|Name|Task|Jump to running.*)$/i;

describe("dashboard in Chromium by role", () => {
  let h: Harness;
  let page: Page;
  let runId = "";
  let viewerKey = "";

  beforeAll(async () => {
    h = await startHarness({ adminKey: ADMIN_KEY });
    page = h.page;
    runId = await h.runFlow("pipeline");
    // Things an admin could act on, on every page.
    await h.api("/work-pools", { name: "roles-pool" });
    await h.api("/deployments", { name: "roles-deployment", flowName: "pipeline", entrypoint: "flows.ts:pipeline", workPool: "roles-pool" });
    await h.api("/concurrency-limits", { name: "roles-limit", limit: 2 });
    await h.api("/notification-channels", { name: "roles-channel", type: "webhook", settings: { url: "http://127.0.0.1:9/hook" } });
    await h.api("/automations", { name: "roles-automation", trigger: { event: "roles.never" }, actions: [{ type: "notify", channel: "roles-channel" }] });
    await fetch(`${h.url}/api/variables/roles-variable`, { method: "PUT", headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ value: 1 }) });
    await h.api("/flow-runs", { flowName: "waiting-run" });
    viewerKey = (await h.api<{ key: string }>("/api-keys", { name: "dashboard viewer", role: "viewer" })).key;
    await h.api("/accounts", { name: "vera", role: "viewer", password: "a viewer's password" });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The pages and what shows each is loaded. */
  const pages = () => [
    ["/", "tr[data-run]"],
    [`/runs/${runId}`, "[data-testid=run-state]"],
    ["/deployments", "[data-deployment='roles-deployment']"],
    ["/work-pools", "[data-limit='roles-limit']"],
    ["/automations", "[data-automation='roles-automation']"],
    ["/automations/roles-automation", "[data-testid=automation-state]"],
    ["/variables", "[data-variable='roles-variable']"],
    ["/secrets", "h1"],
    ["/events", "h1"],
    ["/artifacts", "h1"],
    ["/dashboard", "h1"],
  ];
  /** The visible buttons of each page that do something (those not HARMLESS), and any page error. */
  const actionsOnEachPage = async () => {
    const found: Record<string, string[]> = {};
    for (const [path, ready] of pages()) {
      await page.goto(`${h.url}${path}`);
      await page.locator(ready!).first().waitFor();
      // Late parts (lists behind a second fetch) have had their turn.
      await page.waitForLoadState("networkidle");
      const buttons = (await page.locator("main button:visible, main input[type=checkbox]:visible").evaluateAll((els: { tagName: string; textContent: string | null; getAttribute(name: string): string | null }[]) =>
        els.map((e) => (e.tagName === "INPUT" ? `checkbox ${e.getAttribute("aria-label")}` : (e.textContent ?? "").trim())),
      )) as string[];
      const errors = (await page.locator("main .error:visible").allTextContents()).filter((t) => t.trim());
      found[path!] = [...buttons.filter((b) => !HARMLESS.test(b)), ...errors.map((e) => `error: ${e}`)];
    }
    return found;
  };

  it("signed in with a viewer key, shows every page with no action a viewer cannot perform, and no error", async () => {
    await page.goto(`${h.url}/`);
    await page.locator("[data-testid=api-key]").fill(viewerKey);
    await page.locator("[data-testid=sign-in-submit]").click();
    await page.locator(`tr[data-run="${runId}"]`).waitFor();
    expect(await page.locator("[data-testid=session-role]").textContent()).toBe("viewer");
    const found = await actionsOnEachPage();
    expect(found).toEqual(Object.fromEntries(pages().map(([path]) => [path, []])));
    await page.locator("[data-testid=sign-out]").click();
    await page.locator("[data-testid=sign-in]").waitFor();
  });

  it("shows an admin the actions on the same pages", async () => {
    await page.locator("[data-testid=api-key]").fill(ADMIN_KEY);
    await page.locator("[data-testid=sign-in-submit]").click();
    await page.locator("[data-testid=session-role]", { hasText: "admin" }).waitFor();
    const found = await actionsOnEachPage();
    expect(found["/"]).toEqual(expect.arrayContaining([expect.stringMatching(/^checkbox select /)]));
    expect(found["/deployments"]).toEqual(expect.arrayContaining(["Pause", "Run…"]));
    expect(found["/work-pools"]).toContain("Reset");
    expect(found["/variables"]).toEqual(expect.arrayContaining(["New variable", "Edit", "Delete"]));
    expect(found["/automations"]).toEqual(expect.arrayContaining(["New automation", "Pause", "New channel", "Send test"]));
    await page.locator("[data-testid=sign-out]").click();
    await page.locator("[data-testid=sign-in]").waitFor();
  });

  it("signs an account in with its user name and password, and refuses a wrong one", async () => {
    await page.goto(`${h.url}/dashboard`);
    await page.locator("[data-testid=sign-in-mode]").click();
    await page.locator("[data-testid=username]").fill("vera");
    await page.locator("[data-testid=password]").fill("not the password");
    await page.locator("[data-testid=sign-in-submit]").click();
    expect(await page.locator("[data-testid=sign-in-error]").textContent()).toBe("Wrong user name or password.");
    await page.locator("[data-testid=password]").fill("a viewer's password");
    await page.locator("[data-testid=sign-in-submit]").click();
    // Back on the page that asked for it, as vera.
    await page.locator("[data-testid=session-role]", { hasText: "viewer" }).waitFor();
    expect(await page.locator("[data-testid=session-role]").getAttribute("title")).toBe("vera");
    await page.goto(`${h.url}/`);
    await page.locator(`tr[data-run="${runId}"]`).waitFor();
    expect(await page.locator("main input[type=checkbox]").count()).toBe(0);
  });
});
