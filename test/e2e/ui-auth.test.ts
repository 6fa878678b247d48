/**
 * The dashboard in Chromium against a server with API keys: its files load without a key, it
 * asks for one, refuses a wrong one, and with the right one shows the runs list, follows the
 * event stream on the session cookie, returns to a deep link after signing in, and signs out.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, startProcess } from "../support/processes.ts";
import { startHarness, UI_FLOWS, type Harness } from "./ui-harness.ts";

const KEY = "ui-admin-key-1";

describe("dashboard in Chromium with API keys", () => {
  let h: Harness;
  let page: Page;
  let url: string;
  let firstRun = "";

  beforeAll(async () => {
    h = await startHarness({ adminKey: KEY });
    ({ page, url } = h);
    firstRun = await h.runFlow("pipeline");
  });
  afterAll(async () => {
    await h?.close();
  });

  const signIn = async (key: string) => {
    await page.locator("[data-testid=api-key]").fill(key);
    await page.locator("[data-testid=sign-in-submit]").click();
  };
  /** What the page's own requests get from the API now. */
  const apiStatus = () => page.evaluate(`fetch("/api/flow-runs").then((r) => r.status)`) as Promise<number>;

  it("loads without a key and asks for one; refuses a wrong key with a message; the right one shows the runs list", async () => {
    // The dashboard's page and scripts need no key; the API does.
    const html = await (await fetch(`${url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    expect((await fetch(`${url}${script}`)).status).toBe(200);
    expect((await fetch(`${url}/api/flow-runs`)).status).toBe(401);

    await page.goto(`${url}/`);
    await page.locator("[data-testid=sign-in]").waitFor();
    expect(await page.locator("tr[data-run]").count()).toBe(0);
    await signIn("not-the-key-123");
    expect(await page.locator("[data-testid=sign-in-error]").textContent()).toBe("This API key is not valid on this server.");
    await page.locator("[data-testid=sign-in]").waitFor();

    await signIn(KEY);
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    expect(await page.locator("[data-testid=session-role]").textContent()).toBe("admin");
    expect(await apiStatus()).toBe(200);
    const cookies = await page.context().cookies(url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "baton_session", httpOnly: true, sameSite: "Strict", path: "/", secure: false });
    expect(cookies[0]!.value).not.toContain(KEY);
    // Page scripts cannot read it.
    expect(await page.evaluate("document.cookie")).toBe("");
  });

  it("follows the event stream on the session cookie: a new run appears without a reload", async () => {
    const streams: number[] = [];
    const watch = (response: { url(): string; status(): number }) => response.url().includes("/api/live/stream") && streams.push(response.status());
    page.on("response", watch);
    try {
      await page.goto(`${url}/`);
      await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
      // The list refreshes on the stream's events only (it has no polling): this run shows through them.
      const chatty = startProcess([BIN, "run", UI_FLOWS, "--flow", "chatty", "--params-json", '{"ticks": 3, "ms": 50}'], h.env);
      expect(await chatty.exit, chatty.stderr()).toBe(0);
      const id = (await h.api<{ items: { id: string }[] }>("/flow-runs?flow=chatty&limit=1")).items[0]!.id;
      await page.locator(`tr[data-run="${id}"] .state`, { hasText: "Completed" }).waitFor({ timeout: 15_000 });
    } finally {
      page.off("response", watch);
    }
    expect(streams.length).toBeGreaterThan(0);
    expect(streams.every((status) => status === 200)).toBe(true);
  });

  it("signs out back to the sign-in page; signing in on a deep link returns to its page", async () => {
    await page.locator("[data-testid=sign-out]").click();
    await page.locator("[data-testid=sign-in]").waitFor();
    expect(await apiStatus()).toBe(401);
    expect(await page.context().cookies(url)).toEqual([]);

    await page.goto(`${url}/runs/${firstRun}`);
    await page.locator("[data-testid=sign-in]").waitFor();
    await signIn(KEY);
    await page.locator('g[data-node="reduce"]').waitFor();
    expect(await page.locator("[data-testid=run-state]").textContent()).toBe("Completed");
    expect(new URL(page.url()).pathname).toBe(`/runs/${firstRun}`);
  });

  it("shows the sign-in page, without a reload, at the first 401 after the session ended under an open page", async () => {
    await page.goto(`${url}/`);
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    // Another tab signs out: this page's session is gone on the server.
    await page.evaluate(`fetch("/api/session", { method: "DELETE" })`);
    expect(await page.locator("[data-testid=sign-in]").count()).toBe(0);
    // A new run's event makes the list fetch again, which answers 401.
    await h.api("/flow-runs", { flowName: "after-sign-out" });
    await page.locator("[data-testid=sign-in]").waitFor({ timeout: 10_000 });
  });
});
