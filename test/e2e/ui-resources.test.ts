/**
 * The dashboard in a real browser, part three: the flows list and a flow's page (figures from
 * the server, durations chart, deployments, the parameters' schema as a table), a deployment's
 * page (facts, masked job variables, schedules added, changed, paused and deleted with a live
 * preview and errors at the field, the Run form, delete), work pools, queues and limits created,
 * edited, paused and deleted with confirmation, and a worker's page.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/processes.ts";
import { SHOTS, startHarness, type Harness } from "./ui-harness.ts";

interface Run {
  id: string;
  name: string;
  state: { name: string };
}

describe("dashboard in Chromium: flows, deployments, pools", () => {
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

  /** A run of `flowName` through the API, moved Running then to `end`. */
  const finishedRun = async (flowName: string, end: string, pauseMs = 0): Promise<Run> => {
    const run = await h.api<Run>("/flow-runs", { flowName, tags: [], state: "Pending" });
    await h.api(`/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    return h.api<Run>(`/flow-runs/${run.id}/set-state`, { state: { name: end, message: end === "Completed" ? null : `${end} on purpose` } });
  };

  const parameterSchema = {
    type: "object",
    properties: {
      rows: { type: "integer", minimum: 1, default: 100, description: "rows per batch" },
      mode: { type: "string", enum: ["full", "incremental"] },
      target: { type: "object", properties: { table: { type: "string", minLength: 1 } }, required: ["table"] },
    },
    required: ["mode"],
  };

  it("lists flows with runs, success rate, last run and deployments; a flow's page shows its figures, durations, deployments and parameters", async () => {
    for (const [end, ms] of [
      ["Completed", 20],
      ["Completed", 60],
      ["Failed", 40],
      ["Completed", 120],
    ] as const)
      await finishedRun("etl", end, ms);
    await h.api("/flows", { name: "lonely", description: "registered, never run" });
    await h.api("/work-pools", { name: "res-pool" });
    await h.api("/deployments", {
      name: "etl-nightly",
      flowName: "etl",
      entrypoint: "/srv/etl.ts:etl",
      description: "Loads yesterday's orders into the warehouse.",
      tags: ["warehouse", "nightly"],
      workPool: "res-pool",
      parameters: { mode: "incremental" },
      parameterSchema,
      concurrencyLimit: 2,
      collisionStrategy: "cancel-new",
      retries: 2,
      retryDelayMs: 30_000,
      jobVariables: { env: { API_TOKEN: "s3cret-token", REGION: "eu" }, cwd: "/tmp" },
      schedules: [{ spec: { kind: "cron", cron: "0 3 * * *", timezone: "Europe/Berlin" } }],
    });

    await page.goto(`${url}/`);
    await page.locator("nav a", { hasText: /^Flows$/ }).click();
    await page.waitForURL(`${url}/flows`);
    const etl = page.locator('[data-testid=flow-list] tr[data-flow="etl"]');
    await etl.waitFor();
    expect(await etl.locator("[data-testid=flow-runs]").textContent()).toBe("4");
    expect(await etl.locator("[data-testid=flow-success]").textContent()).toBe("75%");
    expect(await etl.locator("[data-testid=flow-last-run] .state").textContent()).toBe("Completed");
    expect(await etl.locator("[data-testid=flow-deployments] a").allTextContents()).toEqual(["etl-nightly"]);
    const lonely = page.locator('tr[data-flow="lonely"]');
    expect(await lonely.textContent()).toMatch(/lonely.*registered, never run.*0.*–.*never run.*none/);
    // Live: a new failure shows without a reload.
    await finishedRun("etl", "Failed");
    await until(async () => (await etl.locator("[data-testid=flow-runs]").textContent()) === "5" && (await etl.locator("[data-testid=flow-success]").textContent()) === "60%", "the new failure, live");
    await page.screenshot({ path: path.join(SHOTS, "flows.png"), fullPage: true });

    await etl.locator("a", { hasText: "etl" }).first().click();
    await page.waitForURL(`${url}/flows/etl`);
    await page.locator("[data-testid=duration-chart]").waitFor();
    expect(await page.locator("[data-testid=tile-runs] b").textContent()).toBe("5");
    expect(await page.locator("[data-testid=tile-success] b").textContent()).toBe("60%");
    expect(await page.locator("[data-testid=tile-p50] b").textContent()).toMatch(/\d+ ms/);
    expect(await page.locator("[data-testid=duration-chart] circle").count()).toBe(5);
    expect(await h.attrs("[data-testid=duration-chart] circle", "data-point")).toEqual(["COMPLETED", "COMPLETED", "FAILED", "COMPLETED", "FAILED"]);
    expect(await page.locator("[data-testid=flow-deployment-list] tr[data-deployment]").allTextContents()).toEqual([expect.stringMatching(/etl-nightly.*Active.*res-pool\/default.*cron 0 3 \* \* \* \(Europe\/Berlin\)/)]);
    // The parameters' schema, readable: nested fields under their parent, rules and defaults.
    const rows = page.locator("[data-testid=parameter-schema] tr[data-parameter]");
    expect(await h.attrs("[data-testid=parameter-schema] tr[data-parameter]", "data-parameter")).toEqual(["rows", "mode", "target", "target.table"]);
    expect(await rows.nth(0).locator("td").allTextContents()).toEqual(["rows", "integer", "no", "100", "≥ 1", "rows per batch"]);
    expect(await rows.nth(1).locator("td").allTextContents()).toEqual(["mode", 'one of "full", "incremental"', "yes", "–", "–", ""]);
    expect(await rows.nth(3).locator("td").allTextContents()).toEqual(["target.table", "string", "yes", "–", "at least 1 character(s)", ""]);
    expect(await page.locator("[data-testid=recent-runs] tr[data-run]").count()).toBe(5);
    await page.screenshot({ path: path.join(SHOTS, "flow.png"), fullPage: true });
    // Its deployment opens from here.
    await page.locator('[data-testid=flow-deployment-list] a', { hasText: "etl-nightly" }).click();
    await page.waitForURL(`${url}/deployments/etl-nightly`);
    await page.locator("[data-testid=deployment-facts]").waitFor();
  });

  it("shows a deployment's settings with its job variables masked, and manages its schedules with a preview and errors at the field", async () => {
    await page.goto(`${url}/deployments/etl-nightly`);
    await page.locator("[data-testid=deployment-facts]").waitFor();
    expect(await page.locator("[data-testid=deployment-description]").textContent()).toBe("Loads yesterday's orders into the warehouse.");
    expect(await page.locator("[data-testid=deployment-concurrency]").textContent()).toBe("at most 2 running at once; further runs are cancelled");
    expect(await page.locator("[data-testid=deployment-retries]").textContent()).toBe("2 of a crashed or failed run, 30 s apart");
    expect(await page.locator("[data-testid=deployment-facts]").textContent()).toMatch(/warehouse.*nightly/);
    expect(await page.locator("[data-testid=env-value]").allTextContents()).toEqual(["********", "********"]);
    expect(await page.locator("[data-testid=job-variables]").textContent()).toContain("/tmp");
    await page.locator("[data-testid=reveal-env]").click();
    expect(await page.locator("[data-testid=env-value]").allTextContents()).toEqual(["s3cret-token", "eu"]);
    await page.locator("[data-testid=reveal-env]").click();

    const schedules = page.locator("[data-testid=schedules] tr[data-schedule]");
    await until(async () => (await schedules.count()) === 1, "the schedule");
    expect(await schedules.first().locator("[data-testid=next-runs] div").count()).toBe(5);

    // A new schedule: an interval, checked in the browser, previewed by the server.
    await page.locator("[data-testid=add-schedule]").click();
    const form = page.locator("[data-testid=schedule-form]");
    await form.locator("select[aria-label='schedule kind']").selectOption("interval");
    await form.locator("input[aria-label=every]").fill("0.5");
    await form.locator("select[aria-label=unit]").selectOption("s");
    expect(await form.locator("[data-testid=every-error]").textContent()).toBe("the interval must be at least 1 second");
    expect(await form.locator("button[type=submit]").isDisabled()).toBe(true);
    await form.locator("input[aria-label=every]").fill("15");
    await form.locator("select[aria-label=unit]").selectOption("min");
    const preview = form.locator("[data-testid=schedule-preview]");
    await until(async () => (await preview.locator("li").count()) === 5, "five previewed runs");
    expect(await preview.textContent()).toMatch(/every 15 min — next 5 runs in your time zone/);
    const times = await preview.locator("li").allTextContents();
    expect(new Set(times).size).toBe(5);
    await form.locator("button[type=submit]").click();
    await until(async () => (await schedules.count()) === 2, "the added schedule");
    expect(await form.count()).toBe(0);
    expect(await schedules.nth(1).locator("td").first().textContent()).toBe("every 15 min");

    // Edit the cron schedule: a refusal of the server shows at the field it names.
    await schedules.nth(0).locator("button", { hasText: "Edit" }).click();
    await form.waitFor();
    expect(await form.locator("input[aria-label=cron]").inputValue()).toBe("0 3 * * *");
    await form.locator("input[aria-label='time zone']").fill("Mars/Olympus");
    await until(async () => (await form.locator("[data-testid=timezone-error]").textContent())?.includes('body.spec.timezone "Mars/Olympus" is not a known IANA time zone'), "the time zone refused");
    await form.locator("input[aria-label='time zone']").fill("UTC");
    await form.locator("input[aria-label=cron]").fill("61 * * * *");
    await until(async () => (await form.locator("[data-testid=cron-error]").textContent())?.includes('body.spec.cron "61 * * * *" is invalid'), "the cron refused");
    expect(await form.locator("input[aria-label=cron]").getAttribute("aria-invalid")).toBe("true");
    await form.locator("input[aria-label=cron]").fill("30 6 * * 1-5");
    await until(async () => (await preview.locator("li").count()) === 5, "the weekday preview");
    await page.screenshot({ path: path.join(SHOTS, "deployment-schedule.png"), fullPage: true });
    await form.locator("button[type=submit]").click();
    await until(async () => (await schedules.nth(0).locator("td").first().textContent()) === "cron 30 6 * * 1-5 (UTC)", "the changed schedule");

    // Pause and resume one schedule.
    await schedules.nth(1).locator("button", { hasText: "Pause" }).click();
    await schedules.nth(1).locator(".state", { hasText: "Paused" }).waitFor();
    await schedules.nth(1).locator("button", { hasText: "Resume" }).click();
    await schedules.nth(1).locator(".state", { hasText: "Active" }).waitFor();

    // Delete asks first; Keep keeps it.
    await schedules.nth(1).locator("button", { hasText: "Delete" }).click();
    expect(await schedules.nth(1).locator(".confirm").textContent()).toMatch(/Delete schedule every 15 min; its future runs go with it\?/);
    await schedules.nth(1).locator("button", { hasText: "Keep" }).click();
    expect(await schedules.count()).toBe(2);
    await schedules.nth(1).locator("button", { hasText: "Delete" }).click();
    await schedules.nth(1).locator("button", { hasText: "Yes, delete" }).click();
    await until(async () => (await schedules.count()) === 1, "the deleted schedule");
    const stored = await h.api<{ id: string; schedules: { spec: { cron?: string } }[] }>("/deployments/etl-nightly");
    expect(stored.schedules.map((s) => s.spec.cron)).toEqual(["30 6 * * 1-5"]);
    // The runs the deleted schedule made went with it, from the page too (no state event says so).
    const scheduled = async () => (await h.api<{ items: Run[] }>(`/flow-runs?deployment=${stored.id}&state=Scheduled`)).items.length;
    await until(async () => (await page.locator("[data-testid=recent-runs] tr[data-run]").count()) === (await scheduled()), "the runs list in step with the schedules");
    await page.screenshot({ path: path.join(SHOTS, "deployment.png"), fullPage: true });
    await page.locator("[data-testid=theme-toggle]").click();
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await page.screenshot({ path: path.join(SHOTS, "deployment-dark.png"), fullPage: true });
    await page.locator("[data-testid=theme-toggle]").click();
  });

  it("edits a deployment's own fields from its page, with errors at the field, and keeps its schedules", async () => {
    await page.goto(`${url}/deployments/etl-nightly`);
    await page.locator("[data-testid=deployment-facts]").waitFor();
    const before = await h.api<{ schedules: { id: string }[]; description: string; tags: string[]; concurrencyLimit: number; collisionStrategy: string; retries: number; retryDelayMs: number }>("/deployments/etl-nightly");
    await page.locator("[data-testid=edit-deployment]").click();
    const form = page.locator("[data-testid=deployment-form]");
    expect(await form.locator("textarea[aria-label=description]").inputValue()).toBe(before.description);
    expect(await form.locator("input[aria-label='concurrency limit']").inputValue()).toBe("2");
    // Checked in the browser before sending.
    await form.locator("input[aria-label=retries]").fill("-1");
    await form.locator("button[type=submit]").click();
    expect(await form.locator("[data-testid=retries-error]").textContent()).toBe("a whole number from 0 to 100");
    await form.locator("input[aria-label=retries]").fill("4");
    await form.locator("input[aria-label='retry delay']").fill("90");
    await form.locator("input[aria-label='concurrency limit']").fill("");
    await form.locator("select[aria-label='collision strategy']").selectOption("enqueue");
    await form.locator("textarea[aria-label=description]").fill("Loads the orders, now with retries.");
    await form.locator("input[aria-label=tags]").fill("warehouse, nightly, orders");
    await page.screenshot({ path: path.join(SHOTS, "deployment-edit.png"), fullPage: true });
    await form.locator("button[type=submit]").click();
    await form.waitFor({ state: "detached" });
    await until(async () => (await page.locator("[data-testid=deployment-retries]").textContent()) === "4 of a crashed or failed run, 90 s apart", "the new retries shown");
    expect(await page.locator("[data-testid=deployment-concurrency]").textContent()).toBe("no limit");
    expect(await page.locator("[data-testid=deployment-description]").textContent()).toBe("Loads the orders, now with retries.");
    const after = await h.api<typeof before>("/deployments/etl-nightly");
    expect(after).toMatchObject({ tags: ["warehouse", "nightly", "orders"], concurrencyLimit: null, collisionStrategy: "enqueue", retries: 4, retryDelayMs: 90_000 });
    expect(after.schedules.map((s) => s.id)).toEqual(before.schedules.map((s) => s.id));
    // As it was, for the tests below.
    const { description, tags, concurrencyLimit, collisionStrategy, retries, retryDelayMs } = before;
    await h.api("/deployments/etl-nightly", { description, tags, concurrencyLimit, collisionStrategy, retries, retryDelayMs }, "PATCH");
  });

  it("runs a deployment from its page and lists the run; deletes a deployment after confirmation", async () => {
    await page.goto(`${url}/deployments/etl-nightly`);
    await page.locator("[data-testid=open-run-form]").click();
    const form = page.locator("[data-testid=run-form]");
    await form.waitFor();
    expect((await h.search()).get("run")).toBe("etl-nightly");
    await form.locator('select[name="mode"]').selectOption("full");
    await form.locator('textarea[name="target"]').fill('{"table": "orders"}');
    await form.locator("button[type=submit]").click();
    await page.waitForURL(/\/runs\//);
    const runId = new URL(page.url()).pathname.split("/").pop()!;
    expect((await h.api<{ parameters: unknown }>(`/flow-runs/${runId}`)).parameters).toMatchObject({ mode: "full", target: { table: "orders" } });
    await page.goto(`${url}/deployments/etl-nightly`);
    await page.locator(`[data-testid=recent-runs] tr[data-run="${runId}"]`).waitFor();

    await h.api("/deployments", { name: "throwaway", flowName: "etl", entrypoint: "/srv/etl.ts:etl" });
    await page.goto(`${url}/deployments`);
    await page.locator('[data-deployment="throwaway"] h2 a').click();
    await page.waitForURL(`${url}/deployments/throwaway`);
    await page.locator(".toolbar .actions button", { hasText: "Delete" }).click();
    expect(await page.locator(".confirm").textContent()).toContain("Delete deployment throwaway and its scheduled runs?");
    await page.locator("button", { hasText: "Yes, delete" }).click();
    await page.waitForURL(`${url}/deployments`);
    await page.locator('[data-deployment="etl-nightly"]').waitFor();
    expect(await page.locator('[data-deployment="throwaway"]').count()).toBe(0);
  });

  it("creates, edits, pauses and deletes work pools, queues and limits, with errors at the field", async () => {
    await page.goto(`${url}/work-pools`);
    await page.locator('[data-pool="res-pool"]').waitFor();
    await page.locator("[data-testid=new-pool]").click();
    const poolForm = page.locator("[data-testid=pool-form]");
    await poolForm.locator("input[aria-label='pool name']").fill("gpu pool!");
    await poolForm.locator("input[aria-label='pool concurrency limit']").fill("0");
    await poolForm.locator("button[type=submit]").click();
    expect(await poolForm.locator("[data-testid=pool-name-error]").textContent()).toMatch(/letters, digits and _ \. : @ \/ - only/);
    expect(await poolForm.locator("[data-testid=pool-limit-error]").textContent()).toMatch(/a whole number of 1 or more/);
    await poolForm.locator("input[aria-label='pool name']").fill("gpu-pool");
    await poolForm.locator("input[aria-label='pool concurrency limit']").fill("3");
    await poolForm.locator("button[type=submit]").click();
    const pool = page.locator('[data-pool="gpu-pool"]');
    await pool.waitFor();
    expect(await pool.locator(".toolbar .muted").first().textContent()).toBe("process · limit 3");

    // A refusal only the server makes is shown at the field it names.
    await page.route("**/api/work-pools", (route) =>
      route.request().method() === "POST"
        ? route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify({ error: { code: "VALIDATION_ERROR", message: "body.concurrencyLimit must be <= 2147483647", details: null } }) })
        : route.continue(),
    );
    await pool.locator(".toolbar button", { hasText: "Edit" }).click();
    await pool.locator("input[aria-label='pool concurrency limit']").fill("5");
    await pool.locator("[data-testid=pool-form] button[type=submit]").click();
    await until(async () => (await pool.locator("[data-testid=pool-limit-error]").textContent()) === "body.concurrencyLimit must be <= 2147483647", "the server's refusal at the field");
    await page.unroute("**/api/work-pools");
    await pool.locator("[data-testid=pool-form] button[type=submit]").click();
    await until(async () => (await pool.locator(".toolbar .muted").first().textContent()) === "process · limit 5", "the edited limit");
    await pool.locator(".toolbar button", { hasText: "Pause" }).click();
    await until(async () => (await pool.locator("[data-testid=pool-state]").textContent()) === "Paused", "the paused pool");
    expect((await h.api<{ paused: boolean }>("/work-pools/gpu-pool")).paused).toBe(true);
    await pool.locator(".toolbar button", { hasText: "Resume" }).click();
    await until(async () => (await pool.locator("[data-testid=pool-state]").textContent()) === "Ready", "the resumed pool");

    // Queues: add, pause (its priority and limit kept), edit, delete — not the default one.
    await pool.locator("[data-testid=add-queue]").click();
    const queueForm = pool.locator("[data-testid=queue-form]");
    await queueForm.locator("input[aria-label='queue name']").fill("fast");
    await queueForm.locator("input[aria-label='queue priority']").fill("0");
    await queueForm.locator("button[type=submit]").click();
    expect(await queueForm.locator("[data-testid=queue-priority-error]").textContent()).toMatch(/1 is served first/);
    await queueForm.locator("input[aria-label='queue priority']").fill("2");
    await queueForm.locator("input[aria-label='queue concurrency limit']").fill("1");
    await queueForm.locator("button[type=submit]").click();
    const fast = pool.locator('tr[data-queue="fast"]');
    await fast.waitFor();
    expect(await fast.locator("td").allTextContents()).toEqual(["fast", "2", "1", "Ready", expect.any(String)]);
    await fast.locator("button", { hasText: "Pause" }).click();
    await until(async () => (await fast.locator("td").nth(3).textContent()) === "Paused", "the paused queue");
    expect((await fast.locator("td").allTextContents()).slice(0, 3)).toEqual(["fast", "2", "1"]);
    await fast.locator("button", { hasText: "Edit" }).click();
    await fast.locator("input[aria-label='queue priority']").fill("3");
    await fast.locator("[data-testid=queue-form] button[type=submit]").click();
    await until(async () => (await fast.locator("td").nth(1).textContent()) === "3", "the edited priority");
    const defaultQueue = pool.locator('tr[data-queue="default"]');
    await defaultQueue.locator("button", { hasText: "Delete" }).click();
    await defaultQueue.locator("button", { hasText: "Yes, delete" }).click();
    await until(async () => (await defaultQueue.locator("[data-testid=delete-error]").textContent())?.includes('the default queue of work pool "gpu-pool" cannot be deleted'), "the refusal");
    await fast.locator("button", { hasText: "Delete" }).click();
    await fast.locator("button", { hasText: "Yes, delete" }).click();
    await until(async () => (await fast.count()) === 0, "the deleted queue");

    // Limits: create (checked in the browser), edit, delete.
    await page.locator("[data-testid=new-limit]").click();
    const limitForm = page.locator("[data-testid=limit-form]");
    await limitForm.locator("input[aria-label='limit name']").fill("gpu");
    await limitForm.locator("input[aria-label='limit slots']").fill("two");
    await limitForm.locator("button[type=submit]").click();
    expect(await limitForm.locator("[data-testid=limit-slots-error]").textContent()).toBe("a whole number of 1 or more");
    await limitForm.locator("input[aria-label='limit slots']").fill("2");
    await limitForm.locator("button[type=submit]").click();
    const limit = page.locator('[data-limit="gpu"]');
    await until(async () => (await limit.locator("[data-testid=slots]").textContent()) === "0 / 2", "the new limit");
    await limit.locator("button", { hasText: "Edit" }).click();
    await limit.locator("input[aria-label='limit slots']").fill("4");
    await limit.locator("input[aria-label='limit rate']").fill("0.5");
    await limit.locator("[data-testid=limit-form] button[type=submit]").click();
    await until(async () => (await limit.locator("[data-testid=slots]").textContent()) === "0 / 4", "the edited limit");
    expect(await limit.textContent()).toContain("(rate 0.5/s)");
    await page.locator("[data-testid=add-queue]").first().click();
    await page.screenshot({ path: path.join(SHOTS, "work-pool-forms.png"), fullPage: true });
    await page.locator("[data-testid=add-queue]").first().click();
    await limit.locator("button", { hasText: "Delete" }).click();
    await limit.locator("button", { hasText: "Yes, delete" }).click();
    await page.locator(".empty", { hasText: "No limits yet" }).waitFor();

    // A pool goes after confirmation.
    await pool.locator(".toolbar button", { hasText: "Delete" }).click();
    expect(await pool.locator(".confirm").textContent()).toContain("Delete work pool gpu-pool with its queues?");
    await pool.locator("button", { hasText: "Yes, delete" }).click();
    await until(async () => (await pool.count()) === 0, "the deleted pool");
  });

  it("opens a worker's page from its pool: status, heartbeats, the runs it claimed", async () => {
    const workerId = "ui-worker-1";
    await h.api("/work-pools/res-pool/workers", { id: workerId, name: "builder-7", heartbeatMs: 1000 });
    const run = await h.api<Run>("/deployments/etl-nightly/runs", { parameters: { mode: "full" } });
    const claimed = await h.api<{ items: Run[] }>("/work-pools/res-pool/claim", { workerId, max: 5 });
    expect(claimed.items.map((r) => r.id)).toContain(run.id);
    await h.api(`/workers/${workerId}/heartbeat`, {});
    await page.goto(`${url}/work-pools`);
    await page.locator('[data-pool="res-pool"] tr[data-worker="builder-7"] a').click();
    await page.waitForURL(`${url}/workers/${workerId}`);
    expect(await page.locator("[data-testid=worker-status]").textContent()).toBe("Online");
    expect(await page.locator("[data-testid=worker-facts]").textContent()).toMatch(/every 1\.0 s; offline, with its runs crashed, after 3 missed \(3\.0 s, at .* unless it beats again\)/);
    await page.locator(`[data-testid=recent-runs] tr[data-run="${run.id}"]`).waitFor();
    await page.screenshot({ path: path.join(SHOTS, "worker.png"), fullPage: true });
    // It stops beating: the page says so on its own (the server's clock decides).
    await until(async () => (await page.locator("[data-testid=worker-status]").textContent()) === "Offline", "the worker offline", 15_000);
    expect(await page.locator("[data-testid=worker-last-seen]").textContent()).toMatch(/ago, by the server's clock/);
    // The server's crash detector finds it dead: the event shows, live, and its run moves on
    // (Crashed, then AwaitingRetry: the deployment has retries), live too.
    const dead = page.locator('[data-testid=worker-events] tr[data-event="baton.worker.dead"]');
    await dead.waitFor({ timeout: 25_000 });
    expect(await dead.textContent()).toContain("builder-7");
    const moved = await h.api<Run>(`/flow-runs/${run.id}`);
    expect(["Crashed", "AwaitingRetry"]).toContain(moved.state.name);
    await until(async () => (await page.locator(`[data-testid=recent-runs] tr[data-run="${run.id}"] .state`).textContent()) !== "Pending", "the run's new state");
  });
});
