/**
 * The dashboard in a real browser, part two: empty states, the runs list (state type and name
 * filters, tags, custom time range, pages both ways, keyboard, bulk cancel and retry), the
 * overview computed by the server (late and crashed figures), deployments (a Run form from the
 * JSON Schema, deep-linked, checked in the browser and by the server) and work pools and
 * concurrency limits, all live.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startProcess, until, BIN } from "../support/processes.ts";
import { FLOWS, SHOTS, startHarness, type Harness } from "./ui-harness.ts";

interface Run {
  id: string;
  name: string;
  state: { name: string };
}

describe("dashboard in Chromium: operations", () => {
  let h: Harness;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    h = await startHarness();
    ({ page, url } = h);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A flow run created through the API, moved through `states` (names). */
  const makeRun = async (flowName: string, options: { tags?: string[]; states?: string[]; scheduledAt?: number } = {}): Promise<Run> => {
    let run = await h.api<Run>("/flow-runs", { flowName, tags: options.tags ?? [], ...(options.scheduledAt ? { state: "Scheduled", scheduledAt: options.scheduledAt } : { state: "Pending" }) });
    for (const name of options.states ?? []) run = await h.api<Run>(`/flow-runs/${run.id}/set-state`, { state: { name, message: name === "Running" ? null : `${name} on purpose` }, heartbeatMs: name === "Running" ? 100 : undefined });
    return run;
  };
  const rowNames = () => page.locator("tr[data-run] td:nth-child(2) a").allTextContents();

  it("tells a new user what to do on every empty page", async () => {
    await page.goto(`${url}/dashboard`);
    expect(await page.locator("[data-testid=dashboard-empty]").textContent()).toMatch(/No flow runs in the last 24 hours\..*npx baton run/);
    expect(await page.locator("[data-testid=legend]").count()).toBe(0);
    await page.locator("nav a", { hasText: "Flow runs" }).click();
    expect(await page.locator("[data-testid=runs-empty]").textContent()).toMatch(/No flow runs yet\..*npx baton run examples\/train\.ts/);
    await page.locator("nav a", { hasText: "Deployments" }).click();
    expect(await page.locator(".empty", { hasText: "No deployments yet" }).textContent()).toMatch(/No deployments yet\..*flow\.serve\(\)/);
    await page.locator("nav a", { hasText: "Work pools" }).click();
    await page.locator(".empty", { hasText: "No limits yet" }).waitFor();
    expect(await page.locator(".empty").allTextContents()).toEqual([expect.stringMatching(/No work pools yet/), expect.stringMatching(/No limits yet/)]);
  });

  it("serves the built script precompressed and cacheable for good, and deep links as the page", async () => {
    const html = await (await fetch(`${url}/runs/some-run?level=40`)).text();
    const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(html)![1]!;
    const plain = await fetch(`${url}${script}`, { headers: { "accept-encoding": "identity" } });
    const br = await fetch(`${url}${script}`, { headers: { "accept-encoding": "br, gzip" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(br.headers.get("cache-control")).toContain("immutable");
    expect(await br.text()).toBe(await plain.text()); // fetch decodes it: the same script
    expect((await fetch(`${url}/`)).headers.get("cache-control") ?? "").not.toContain("immutable");
  });

  it("filters runs by state type or name, tag and a custom time range; the empty state names the filters and clears them", async () => {
    await makeRun("filters", { tags: ["nightly"], states: ["Running", "Failed"] });
    await makeRun("filters", { states: ["Running", "TimedOut"] });
    await makeRun("filters", { tags: ["nightly", "gpu"], states: ["Running", "Completed"] });
    await page.goto(`${url}/?flow=filters`);
    await until(async () => (await rowNames()).length === 3, "three runs");
    // A type takes every name beneath it: Failed and TimedOut.
    await page.locator("select[aria-label='state filter']").selectOption("type:FAILED");
    await until(async () => (await page.locator("tr[data-run] .state").allTextContents()).sort().join() === "Failed,TimedOut", "the FAILED type");
    expect((await h.search()).get("stateType")).toBe("FAILED");
    await page.locator("select[aria-label='state filter']").selectOption("name:TimedOut");
    await until(async () => (await page.locator("tr[data-run] .state").allTextContents()).join() === "TimedOut", "the TimedOut name");
    await page.locator("select[aria-label='state filter']").selectOption("");
    await page.locator("input[aria-label='tag filter']").fill("nightly");
    await page.locator("input[aria-label='tag filter']").press("Enter");
    await until(async () => (await page.locator("tr[data-run] .state").allTextContents()).sort().join() === "Completed,Failed", "the nightly tag");
    await page.locator("input[aria-label='tag filter']").fill("nightly,gpu");
    await page.locator("input[aria-label='tag filter']").press("Enter");
    await until(async () => (await page.locator("tr[data-run] .state").allTextContents()).join() === "Completed", "both tags");
    // A custom range that ended an hour ago: nothing, and the empty state says why.
    const hourAgo = Date.now() - 3600_000;
    await page.goto(`${url}/?flow=filters&tag=nightly&until=${hourAgo}`);
    expect(await page.locator("select[aria-label='time filter']").inputValue()).toBe("custom");
    expect(await page.locator("input[aria-label='until']").inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    const empty = page.locator("[data-testid=runs-empty]");
    expect(await empty.textContent()).toMatch(/No flow runs match flow filters, tag nightly, created until .*\./);
    await page.locator("input[aria-label='since']").fill(new Date(hourAgo - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
    await until(async () => (await h.search()).get("since"), "since in the URL");
    await page.locator("input[aria-label='until']").fill("");
    await until(async () => (await rowNames()).length === 2, "runs since an hour ago");
    expect(Number((await h.search()).get("since"))).toBeGreaterThan(hourAgo - 60_000);
    await page.goto(`${url}/?flow=nothing-like-this`);
    await empty.locator("button", { hasText: "Clear filters" }).click();
    await page.waitForURL(`${url}/`);
    await until(async () => (await rowNames()).length >= 3, "every run");
  });

  it("pages back and forth, moves with j/k, opens with Enter (not when a button has focus), bulk cancels", async () => {
    for (let i = 0; i < 53; i++) await makeRun("paged");
    await page.goto(`${url}/?flow=paged`);
    await until(async () => (await rowNames()).length === 50, "the first page");
    const firstPage = await rowNames();
    await page.locator("[data-testid=older]").click();
    await until(async () => (await rowNames()).length === 3, "the second page");
    expect(await page.locator(".pager").textContent()).toContain("page 2");
    expect(await page.locator("[data-testid=older]").count()).toBe(0);
    await page.locator("[data-testid=newer]").click();
    await until(async () => (await rowNames()).length === 50, "the first page again");
    expect(await rowNames()).toEqual(firstPage);
    expect(await page.locator("[data-testid=newer]").count()).toBe(0);

    // Keyboard: the selection starts at the top, j moves it down (scrolled into view), k up.
    expect(await h.attrs("tr[data-selected=true]", "data-run")).toHaveLength(1);
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    const rows = await h.attrs("tr[data-run]", "data-run");
    expect(await h.attrs("tr[data-selected=true]", "data-run")).toEqual([rows[2]]);
    for (let i = 0; i < 45; i++) await page.keyboard.press("j");
    expect(await page.locator("tr[data-selected=true]").evaluate((el: { getBoundingClientRect(): { bottom: number } }) => el.getBoundingClientRect().bottom)).toBeLessThanOrEqual(900);
    for (let i = 0; i < 45; i++) await page.keyboard.press("k");
    // Enter on a focused button does what the button does, not also open the selected run.
    await page.locator("input[aria-label='tag filter']").focus();
    await page.keyboard.press("j"); // typing into a field moves nothing
    expect(await h.attrs("tr[data-selected=true]", "data-run")).toEqual([rows[2]]);
    await page.locator("[data-testid=clear-filters]").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(`${url}/`);
    await page.goto(`${url}/?flow=paged`);
    await until(async () => (await rowNames()).length === 50, "the list");
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${url}/runs/${rows[1]}`);
    await page.goBack();

    // Bulk cancel: two Pending runs become Cancelled.
    await until(async () => (await rowNames()).length === 50, "the list");
    await page.locator("tr[data-run] input[type=checkbox]").nth(0).check();
    await page.locator("tr[data-run] input[type=checkbox]").nth(1).check();
    await page.locator("[data-testid=bulk] button", { hasText: "Cancel selected" }).click();
    expect(await page.locator("[data-testid=bulk-notice]").textContent()).toBe("Cancelled 2 run(s)");
    await until(async () => (await page.locator("tr[data-run] .state").allTextContents()).slice(0, 2).join() === "Cancelled,Cancelled", "the cancelled rows, live");
    for (const id of rows.slice(0, 2)) expect((await h.api<Run>(`/flow-runs/${id}`)).state.name).toBe("Cancelled");
  });

  it("shows late and crashed runs and failure rates computed by the server; bulk retry", async () => {
    const late = await makeRun("sched", { scheduledAt: Date.now() - 60_000 });
    const crashed = await makeRun("fragile", { states: ["Running"] });
    await until(async () => (await h.api<{ crashed: string[] }>("/flow-runs/crash-stale", { onlyId: crashed.id })).crashed.length === 1, "the crash detector");
    await cli(["run", FLOWS, "--flow", "resumable"], { ...h.env, E2E_LOG: path.join(h.dir, "r.log"), E2E_FAIL: path.join(h.dir, "r.log") });
    // The server's scheduler marks the overdue run Late within a few seconds.
    await until(async () => (await h.api<Run>(`/flow-runs/${late.id}`)).state.name === "Late", "the Late mark", 20_000);
    await page.goto(`${url}/dashboard`);
    await page.locator('[data-testid=flows] tr[data-flow="resumable"]').waitFor();
    expect(await page.locator("[data-testid=tile-late] b").textContent()).toBe("1");
    expect(await page.locator("[data-testid=tile-crashed] b").textContent()).toBe("1");
    expect(Number(await page.locator("[data-testid=tile-failed] b").textContent())).toBeGreaterThanOrEqual(2);
    expect(await page.locator("[data-testid=late] a").allTextContents()).toEqual([late.name]);
    expect(await page.locator("[data-testid=crashed] li").textContent()).toMatch(new RegExp(`${crashed.name} fragile · .* — .*heartbeat`));
    expect(await page.locator('[data-testid=flows] tr[data-flow="resumable"] td').allTextContents()).toEqual(["resumable", "1", "0%", expect.stringMatching(/ms|s/), expect.stringMatching(/ms|s/)]);
    expect(await page.locator("[data-testid=chart] rect[data-bar]").count()).toBeGreaterThan(0);
    expect(await page.locator("[data-testid=legend]").textContent()).toMatch(/Completed.*Failed/);
    expect(await page.locator("[data-testid=chart] .axis text").count()).toBeGreaterThan(1);
    await page.screenshot({ path: path.join(SHOTS, "dashboard.png"), fullPage: true });
    // The crashed tile opens the runs list filtered to crashed runs.
    await page.locator("[data-testid=tile-crashed]").click();
    await until(async () => (await rowNames()).join() === crashed.name, "the crashed run");
    await page.goto(`${url}/?flow=resumable`);
    await page.locator("tr[data-run] input[type=checkbox]").first().check();
    await page.locator("[data-testid=bulk] button", { hasText: "Retry selected" }).click();
    // It has no work pool, so no worker would ever pick it up: the server refuses, saying how to resume it.
    expect(await page.locator("[data-testid=bulk-notice]").textContent()).toMatch(/Retried 0 run\(s\); 1 refused: .* has no work pool, .*resume it with `baton flow-run retry /);
    // The runs list by now holds runs in many states.
    await page.goto(`${url}/`);
    await page.locator("tr[data-run]").nth(10).waitFor();
    await page.screenshot({ path: path.join(SHOTS, "flow-runs.png") });
  });

  it("runs a deployment from its form: browser checks, a refusal only the server makes, defaults, deep links; live pause", async () => {
    expect((await cli(["work-pool", "create", "ui-pool"], h.env)).code).toBe(0);
    const schema = {
      type: "object",
      properties: {
        count: { type: "integer", minimum: 1, description: "how many naps" },
        ms: { type: "integer" },
        label: { type: "string", minLength: 2, maxLength: 8, pattern: "^[a-z]+$" },
        // The browser form cannot check `not`: only the server refuses "nap".
        mode: { type: "string", not: { const: "nap" } },
        options: { type: "object", properties: { depth: { type: "integer" } }, required: ["depth"] },
        tags: { type: "array", items: { type: "string" }, maxItems: 2 },
      },
      required: ["count", "ms"],
    };
    const deployment = await h.api<{ id: string }>("/deployments", {
      name: "ui-slow",
      flowName: "slow",
      entrypoint: `${FLOWS}:slow`,
      workPool: "ui-pool",
      parameters: { count: 2, ms: 10 },
      parameterSchema: schema,
      schedules: [{ spec: { kind: "cron", cron: "0 3 * * *", timezone: "Europe/Berlin" } }],
    });
    await page.goto(`${url}/deployments`);
    const card = page.locator('[data-deployment="ui-slow"]');
    await card.waitFor();
    expect(await card.textContent()).toMatch(/cron 0 3 \* \* \* \(Europe\/Berlin\)/);
    // Enter opens the selected deployment's form, prefilled with its parameters.
    await page.keyboard.press("Enter");
    const form = page.locator("[data-testid=run-form]");
    await form.waitFor();
    expect(await form.locator('input[name="count"]').inputValue()).toBe("2");
    // Each problem is shown at its field (RunForm.tsx, shared with the run page's "Run again").
    const submitWith = async (field: string, text: string, expected: string) => {
      await form.locator(`[name="${field}"]`).fill(text);
      await form.locator("button[type=submit]").click();
      const problem = form.locator(`[data-testid=problem-${field}]`);
      await until(async () => (await problem.count()) > 0 && (await problem.textContent()) === expected, expected);
      await form.locator(`[name="${field}"]`).fill("");
    };
    await submitWith("count", "0", "parameters.count must be >= 1");
    await submitWith("count", "1.5", "parameters.count must be integer");
    await submitWith("label", "X", "parameters.label must have at least 2 character(s)");
    await submitWith("label", "abc1", "parameters.label must match the pattern ^[a-z]+$");
    await submitWith("options", '{"depth": "deep"}', "parameters.options.depth must be integer");
    await submitWith("options", "{depth: 1}", "parameters.options must be JSON (object)");
    await submitWith("tags", '["a","b","c"]', "parameters.tags must have at most 2 item(s)");
    await submitWith("mode", "nap", "parameters.mode must NOT be valid");
    expect((await h.api<{ items: unknown[] }>("/flow-runs?flow=slow")).items).toHaveLength(0);
    // The open form and its values are in the URL: a reload (or a shared link) restores them.
    await form.locator('[name="count"]').fill("3");
    await form.locator('[name="label"]').fill("ab");
    await until(async () => (await h.search()).get("p.count") === "3", "the value in the URL");
    expect((await h.search()).get("run")).toBe("ui-slow");
    await page.reload();
    await form.waitFor();
    expect(await form.locator('input[name="count"]').inputValue()).toBe("3");
    expect(await form.locator('input[name="label"]').inputValue()).toBe("ab");
    // A cleared field takes the deployment's default instead of failing as "required".
    await form.locator('input[name="ms"]').fill("");
    await page.screenshot({ path: path.join(SHOTS, "deployments.png"), fullPage: true });
    const worker = startProcess([BIN, "worker", "start", "--pool", "ui-pool", "--poll-ms", "200"], h.env);
    try {
      await form.locator("button[type=submit]").click();
      await page.waitForURL(/\/runs\//);
      await page.locator("[data-testid=run-state]", { hasText: "Completed" }).waitFor({ timeout: 20_000 });
      // The task table follows the run's state by a moment (its own fetch): wait for it.
      await until(async () => (await page.locator(".task-row[data-task]").count()) === 3, "the run's three task rows", 10_000);
      expect(JSON.parse((await page.locator("[data-testid=parameters]").textContent())!)).toEqual({ count: 3, ms: 10, label: "ab" });
      await page.goto(`${url}/?deployment=${deployment.id}`);
      await page.locator("tr[data-run]").first().waitFor();
      expect(new Set(await page.locator("tr[data-run] td:nth-child(3)").allTextContents())).toEqual(new Set(["slow"]));
      await page.goto(`${url}/work-pools`);
      await page.locator('[data-pool="ui-pool"] tr[data-worker] .state', { hasText: "Online" }).waitFor();
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exit;
    }
    // Live: a pause made elsewhere (the CLI) shows without a reload.
    await page.goto(`${url}/deployments`);
    await card.locator(".state", { hasText: "Active" }).waitFor();
    expect((await cli(["deployment", "pause", "ui-slow"], h.env)).code).toBe(0);
    await card.locator(".state", { hasText: "Paused" }).waitFor({ timeout: 5000 });
    await card.locator("button", { hasText: "Resume" }).click();
    await card.locator(".state", { hasText: "Active" }).waitFor();
  });

  it("shows concurrency limits live and resets one after confirmation", async () => {
    await h.api("/concurrency-limits", { name: "gpu", limit: 3 });
    await h.api("/concurrency-limits/acquire", { names: ["gpu"], holder: "trainer-1", slots: 1, ttlMs: 600_000 });
    await page.goto(`${url}/work-pools`);
    const row = page.locator('[data-limit="gpu"]');
    await until(async () => (await row.locator("[data-testid=slots]").textContent()) === "1 / 3", "one slot in use");
    // Another holder takes a slot through the API: the page shows it without a reload.
    await h.api("/concurrency-limits/acquire", { names: ["gpu"], holder: "trainer-2", slots: 1, ttlMs: 600_000 });
    await until(async () => (await row.locator("[data-testid=slots]").textContent()) === "2 / 3", "two slots, live");
    expect(await row.textContent()).toMatch(/trainer-1 \(1\), trainer-2 \(1\)/);
    await page.screenshot({ path: path.join(SHOTS, "work-pools.png"), fullPage: true });
    await row.locator("button", { hasText: "Reset" }).click();
    expect(await row.textContent()).toContain("Free all 2 slot(s)?");
    await row.locator("button", { hasText: "Keep" }).click();
    expect(await row.locator("[data-testid=slots]").textContent()).toBe("2 / 3");
    await row.locator("button", { hasText: "Reset" }).click();
    await row.locator("button", { hasText: "Yes, reset" }).click();
    await until(async () => (await row.locator("[data-testid=slots]").textContent()) === "0 / 3", "the reset");
    expect(await row.locator("[data-testid=limit-outcome]").textContent()).toContain("All slots freed");
    // A reset the server refuses says why.
    await page.route("**/api/concurrency-limits/gpu/reset", (route) =>
      route.fulfill({ status: 409, contentType: "application/json", body: JSON.stringify({ error: { code: "CONFLICT", message: "the limit is being changed", details: null } }) }),
    );
    await row.locator("button", { hasText: "Reset" }).click();
    await row.locator("button", { hasText: "Yes, reset" }).click();
    await until(async () => (await row.locator("[data-testid=limit-outcome]").textContent())?.includes("Reset failed: the limit is being changed"), "the refusal");
    await page.unroute("**/api/concurrency-limits/gpu/reset");
  });
});
