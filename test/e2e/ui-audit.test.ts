/**
 * In Chromium against a server process with keys on: the dashboard's strict Content-Security-
 * Policy breaks nothing (every page, a run with its task graph and artifacts, raises no
 * violation), the Audit page lists who did what with filters and verifies the chain, and a run's
 * page offers its compliance report.
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { startHarness, SHOTS, type Harness } from "./ui-harness.ts";

const ADMIN = "ui-audit-admin-key";

describe("dashboard in Chromium: CSP and the audit log", () => {
  let h: Harness;
  let page: Page;
  let runId: string;
  const consoleErrors: string[] = [];
  const violations = async () => (await page.evaluate("window.__csp || []")) as string[];

  beforeAll(async () => {
    h = await startHarness({ adminKey: ADMIN });
    page = h.page;
    // Added by the browser's protocol, not the page: the policy does not apply to it.
    await page.addInitScript(`window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber));`);
    page.on("console", (m) => {
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) consoleErrors.push(m.text());
    });
    runId = await h.runFlow("pipeline");
    await h.api("/artifacts", { id: newId(), flowRunId: runId, key: "summary", description: null, type: "markdown", data: "# Summary\n\n**bold** and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![dot](data:image/gif;base64,R0lGODlhAQABAAAAACw=)" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("signs in, and no page of the dashboard violates its Content-Security-Policy", async () => {
    const response = await page.goto(`${h.url}/`);
    const csp = response!.headers()["content-security-policy"]!;
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response!.headers()).toMatchObject({ "x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" });
    await page.locator("[data-testid=api-key]").fill(ADMIN);
    await page.locator("[data-testid=sign-in-submit]").click();
    await page.locator("nav a", { hasText: "Audit" }).waitFor();
    for (const route of ["/", "/dashboard", "/deployments", "/work-pools", "/events", "/automations", "/variables", "/secrets", "/artifacts", "/audit", `/runs/${runId}`]) {
      await page.goto(`${h.url}${route}`);
      await page.locator("main h1, main h2").first().waitFor();
      await page.waitForLoadState("networkidle").catch(() => undefined);
      expect(await violations(), route).toEqual([]);
    }
    // The run page's task graph (a web worker) and its markdown artifact rendered.
    await page.goto(`${h.url}/runs/${runId}`);
    await page.locator("[data-testid=markdown]").first().waitFor();
    await page.locator("svg").first().waitFor();
    await page.waitForTimeout(300);
    expect(await violations()).toEqual([]);
    expect(consoleErrors.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
    // The watch works: a script injected into the page is blocked and reported.
    await page.evaluate("{ const s = document.createElement('script'); s.textContent = 'window.__injected = 1'; document.head.appendChild(s); }");
    await page.waitForFunction("window.__csp.length > 0");
    expect(await page.evaluate("window.__injected")).toBeUndefined();
    expect((await violations())[0]).toMatch(/^script-src/);
  });

  it("the run's page links its compliance report, which downloads", async () => {
    await page.goto(`${h.url}/runs/${runId}`);
    const link = page.locator("[data-testid=report-md]");
    await link.waitFor();
    expect(await link.getAttribute("href")).toBe(`/api/flow-runs/${runId}/report?format=md`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("[data-testid=report-pdf]").click()]);
    expect(download.suggestedFilename()).toBe(`baton-run-${runId}-report.pdf`);
    const file = await download.path();
    expect(fs.readFileSync(file!).subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("the Audit page lists who did what, filters, and verifies the chain", async () => {
    await page.goto(`${h.url}/audit`);
    const rows = page.locator("[data-testid=audit-entries] tbody tr");
    await rows.first().waitFor();
    const actions = await page.locator("[data-testid=audit-entries] tbody td code").allTextContents();
    expect(actions).toEqual(expect.arrayContaining(["sign-in", "POST /api/artifacts"]));
    await page.locator("[aria-label='action filter']").fill("sign-in");
    await page.locator("button", { hasText: "Filter" }).click();
    await page.waitForFunction('[...document.querySelectorAll("[data-testid=audit-entries] tbody td code")].every((c) => c.textContent === "sign-in")');
    expect((await h.search()).get("action")).toBe("sign-in");
    await page.locator("[aria-label='action filter']").fill("");
    await page.locator("button", { hasText: "Filter" }).click();
    await page.locator("[data-testid=audit-verify]").click();
    await page.locator("[data-testid=audit-verification]", { hasText: "The chain verifies" }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, "audit.png") });
    expect(await violations()).toEqual([]);
  });
});
