/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), against the real
 * server: a run with a retried and a failed task shows its graph, states, timeline and logs; a
 * running flow updates live; filters live in the URL. Screenshots go to docs/screenshots/.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ROOT, startProcess, until, BIN, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/remote-flows.ts");
const SHOTS = path.join(ROOT, "docs/screenshots");

describe("dashboard in Chromium", () => {
  let server: Proc;
  let url: string;
  let env: Record<string, string>;
  let dir: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, "dist/ui/index.html"))) throw new Error("the dashboard is not built: run npm run build:ui (npm ci does it)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-ui-"));
    server = startProcess([BIN, "server", "start", "--port", "0"], { BATON_HOME: dir, BATON_SERVER_LOG_LEVEL: "warn" });
    url = await until(() => /listening on (http:\/\/\S+) /.exec(server.stdout())?.[1], "the server");
    env = { BATON_API_URL: `${url}/api`, BATON_HOME: path.join(dir, "client"), BATON_HEARTBEAT_MS: "300", BATON_LOG_LEVEL: "warn" };
    browser = await chromium.launch({
      executablePath: process.env.BATON_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    server?.child.kill("SIGTERM");
    await server?.exit;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shows a run's graph, task states, timeline and logs", async () => {
    const run = await cli(["run", FLOWS, "--flow", "mixed", "--param", "label=ui"], env);
    expect(run.code, run.stderr).toBe(0);
    await page.goto(`${url}/`);
    const row = page.locator("tr[data-run]").first();
    await row.waitFor();
    expect(await row.textContent()).toContain("mixed");
    expect(await row.locator(".state").textContent()).toBe("Completed");
    await page.screenshot({ path: path.join(SHOTS, "flow-runs.png") });
    await row.click();
    await page.locator("[data-testid=graph]").waitFor();
    expect(await page.locator("[data-testid=run-state]").textContent()).toBe("Completed");
    expect(await page.locator('g[data-node="flaky"]').getAttribute("data-state")).toBe("Completed");
    expect(await page.locator('g[data-node="boom"]').getAttribute("data-state")).toBe("Failed");
    expect(await page.locator('.task-row[data-task="flaky-0"] > span').nth(2).textContent()).toBe("2"); // retried once
    expect(await page.locator('.task-row[data-task="boom-0"] .state').textContent()).toBe("Failed");
    expect(await page.locator("[data-testid=timeline] .bar").count()).toBe(2);
    expect(await page.locator("[data-testid=result]").textContent()).toContain('"ok": "ui:2"');
    expect(await page.locator('[data-artifact="scores"] td').allTextContents()).toEqual(["a", "0.9", "b", "0.8"]);
    await until(async () => (await page.locator("[data-testid=logs]").textContent())?.includes("flaky ui succeeded on attempt 2"), "the logs");
    await page.screenshot({ path: path.join(SHOTS, "flow-run.png"), fullPage: true });
    // The retried task's own page: two attempts, the first with its error.
    await page.locator('.task-row[data-task="flaky-0"]').click();
    await page.locator("[data-testid=attempts] tbody tr").nth(1).waitFor();
    expect(await page.locator("[data-testid=task-state]").textContent()).toBe("Completed");
    const attempts = await page.locator("[data-testid=attempts] tbody tr").allTextContents();
    expect(attempts[0]).toMatch(/AwaitingRetry.*flaky ui failed once/);
    expect(attempts[1]).toMatch(/Completed/);
    expect(await page.locator("[data-testid=cache]").textContent()).toBe("not cached");
  });

  it("links a flow run to its sub-flow runs and back", async () => {
    expect((await cli(["run", FLOWS, "--flow", "parentFlow"], env)).code).toBe(0);
    const parent = ((await (await fetch(`${url}/api/flow-runs?flow=parentFlow`)).json()) as { items: { id: string }[] }).items[0]!;
    await page.goto(`${url}/runs/${parent.id}`);
    await page.locator("[data-testid=subflows] a", { hasText: "childFlow" }).click();
    await page.locator("[data-testid=parent-link]").waitFor();
    expect(page.url()).not.toContain(parent.id);
    await page.locator("[data-testid=parent-link]").click();
    await page.waitForURL(new RegExp(parent.id));
  });

  it("runs a deployment from its generated form: a bad parameter is refused, a good one runs", async () => {
    expect((await cli(["work-pool", "create", "ui-pool"], env)).code).toBe(0);
    const created = await fetch(`${url}/api/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "ui-slow",
        flowName: "slow",
        entrypoint: `${FLOWS}:slow`,
        workPool: "ui-pool",
        parameters: { count: 2, ms: 10 },
        parameterSchema: { type: "object", properties: { count: { type: "integer", minimum: 1 }, ms: { type: "integer" } }, required: ["count", "ms"] },
        schedules: [{ spec: { kind: "cron", cron: "0 3 * * *", timezone: "Europe/Berlin" } }],
      }),
    });
    expect(created.status).toBe(200);
    const worker = startProcess([BIN, "worker", "start", "--pool", "ui-pool", "--poll-ms", "200"], env);
    try {
      await page.goto(`${url}/deployments`);
      const card = page.locator('[data-deployment="ui-slow"]');
      await card.waitFor();
      expect(await card.textContent()).toMatch(/cron 0 3 \* \* \* \(Europe\/Berlin\)/);
      await card.locator("button", { hasText: "Run…" }).click();
      const form = page.locator("[data-testid=run-form]");
      await form.locator('input[name="count"]').fill("0");
      await form.locator("button[type=submit]").click();
      expect(await page.locator("[data-testid=form-error]").textContent()).toBe("parameters.count must be >= 1");
      const before = await (await fetch(`${url}/api/flow-runs?flow=slow`)).json();
      expect((before as { items: unknown[] }).items).toHaveLength(0);
      await page.screenshot({ path: path.join(SHOTS, "deployments.png") });
      await form.locator('input[name="count"]').fill("3");
      await form.locator("button[type=submit]").click();
      await page.waitForURL(/\/runs\//);
      await page.locator("[data-testid=run-state]", { hasText: "Completed" }).waitFor({ timeout: 20_000 });
      expect(await page.locator(".task-row[data-task]").count()).toBe(3);
      // The runs list filters by deployment.
      await page.goto(`${url}/?deployment=${((await created.json()) as { id: string }).id}`);
      await page.locator("tr[data-run]").first().waitFor();
      expect(new Set(await page.locator("tr[data-run] td:nth-child(3)").allTextContents())).toEqual(new Set(["slow"]));
      await page.goto(`${url}/work-pools`);
      await page.locator('[data-pool="ui-pool"] tr[data-worker] .state', { hasText: "Online" }).waitFor();
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exit;
    }
  });

  it("keeps filters in the URL (deep links) and follows a running flow live", async () => {
    await cli(["run", FLOWS, "--flow", "resumable"], { ...env, E2E_LOG: path.join(dir, "r.log"), E2E_FAIL: path.join(dir, "r.log") });
    await page.goto(`${url}/?state=Failed`);
    await page.locator("tr[data-run]").first().waitFor();
    const states = await page.locator("tr[data-run] .state").allTextContents();
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(["Failed"]));
    expect(await page.locator("select[aria-label='state filter']").inputValue()).toBe("Failed");

    // The dashboard counts it; bulk retry refuses it, saying how to resume it (it has no work
    // pool, so no worker would ever pick it up).
    await page.goto(`${url}/dashboard`);
    await page.locator('[data-testid=flows] tr[data-flow="resumable"]').waitFor();
    expect(Number(await page.locator("[data-testid=tile-failed] b").textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.locator("[data-testid=chart] rect").count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, "dashboard.png") });
    await page.goto(`${url}/?state=Failed`);
    await page.locator("tr[data-run] input[type=checkbox]").first().check();
    await page.locator("[data-testid=bulk] button", { hasText: "Retry selected" }).click();
    expect(await page.locator("[data-testid=bulk-notice]").textContent()).toMatch(/Retried 0 run\(s\); 1 refused: .* has no work pool, .*resume it with `baton flow-run retry /);

    const slow = startProcess([BIN, "run", FLOWS, "--flow", "slow", "--params-json", '{"count": 8, "ms": 250}'], env);
    const id = await until(async () => {
      const response = await fetch(`${url}/api/flow-runs?flow=slow&state=Running`);
      return ((await response.json()) as { items: { id: string }[] }).items[0]?.id;
    }, "the slow run");
    await page.goto(`${url}/runs/${id}`);
    expect(await page.locator("[data-testid=run-state]").textContent()).toBe("Running");
    // No reload: the page follows the server's event stream.
    await page.locator("[data-testid=run-state]", { hasText: "Completed" }).waitFor({ timeout: 20_000 });
    expect(await page.locator(".task-row[data-task]").count()).toBe(8);
    expect(await slow.exit).toBe(0);
    await page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')");
    await page.screenshot({ path: path.join(SHOTS, "flow-run-dark.png"), fullPage: true });
  });
});
