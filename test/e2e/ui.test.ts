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
const UI_FLOWS = path.join(ROOT, "test/e2e/fixtures/ui-flows.ts");
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

  /** An attribute of every element a locator matches (browser code stays typed for Node's lib). */
  const attrs = (selector: string, name: string): Promise<(string | null)[]> =>
    page.locator(selector).evaluateAll((els: { getAttribute(n: string): string | null }[], n: string) => els.map((e) => e.getAttribute(n)), name);
  const search = async (): Promise<URLSearchParams> => new URLSearchParams((await page.evaluate("location.search")) as string);

  /** JSON from the server's API (POST when a body is given). */
  const api = async <T = unknown>(p: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/api${p}`, body === undefined ? undefined : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${p}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  /** Runs a flow of ui-flows.ts to completion; returns its flow run id. */
  const runUiFlow = async (flowName: string, args: string[] = []): Promise<string> => {
    const done = await cli(["run", UI_FLOWS, "--flow", flowName, ...args], env);
    expect(done.code, done.stderr).toBe(0);
    return (await api<{ items: { id: string }[] }>(`/flow-runs?flow=${flowName}&limit=1`)).items[0]!.id;
  };

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
    await until(async () => (await page.locator("[data-testid=logs]").textContent())?.includes("flaky ui succeeded on attempt 2"), "the task run's logs");
  });

  it("draws the task graph with dagre: edges between the right nodes, groups open the filtered task table", async () => {
    const id = await runUiFlow("pipeline");
    await page.goto(`${url}/runs/${id}`);
    await page.locator('g[data-node="reduce"]').waitFor();
    expect(await attrs("g[data-node]", "data-node-id")).toEqual(["0:extract", "1:transform", "2:score", "3:reduce"]);
    expect(await page.locator('g[data-node="score"] .node-label').textContent()).toBe("score ×3");
    expect(await page.locator('g[data-node="score"] .node-sub').textContent()).toBe("3 Completed");
    const edges = await attrs("path[data-edge]", "data-edge");
    expect(edges.sort()).toEqual(["0:extract>1:transform", "1:transform>2:score", "2:score>3:reduce"]);
    // Each edge starts at its upstream node's right side and ends at its downstream node's left side.
    const geometry = (await page.evaluate(`[...document.querySelectorAll("path[data-edge]")].map((p) => {
      const node = (id) => {
        const g = document.querySelector('g[data-node-id="' + id + '"]');
        const m = /translate\\(([-\\d.]+),([-\\d.]+)\\)/.exec(g.getAttribute("transform"));
        const r = g.querySelector("rect").getBBox();
        return { x: Number(m[1]), y: Number(m[2]), w: r.width, h: r.height };
      };
      const [from, to] = p.getAttribute("data-edge").split(">");
      const start = p.getPointAtLength(0);
      const end = p.getPointAtLength(p.getTotalLength());
      return { a: node(from), b: node(to), start: { x: start.x, y: start.y }, end: { x: end.x, y: end.y } };
    })`)) as { a: { x: number; y: number; w: number }; b: { x: number }; start: { x: number }; end: { x: number } }[];
    expect(geometry).toHaveLength(3);
    for (const { a, b, start, end } of geometry) {
      expect(Math.abs(start.x - (a.x + a.w))).toBeLessThan(1.5);
      expect(Math.abs(end.x - b.x)).toBeLessThan(1.5);
    }
    // A group opens the task table narrowed to its task; a single node opens its task run.
    await page.locator('g[data-node="score"]').click();
    await page.waitForURL(/\?task=score/);
    await page.locator("[data-testid=task-filter]").waitFor();
    expect(await attrs(".task-row[data-task]", "data-task")).toEqual(["score-0", "score-1", "score-2"]);
    await page.locator("[data-testid=task-filter] button").click();
    await page.locator('.task-row[data-task="extract-0"]').waitFor();
    await page.locator('g[data-node="transform"]').click();
    await page.waitForURL(/\/task-runs\//);
    expect(await page.locator("h1").textContent()).toContain("transform-0");
    expect(await page.locator("[data-testid=upstream]").textContent()).toContain("extract-0");
  });

  it("opening a sub-flow run shows the child's own parameters and result, never the parent's", async () => {
    const parent = await runUiFlow("uiParent", ["--param", "label=outer"]);
    await page.goto(`${url}/runs/${parent}`);
    await page.locator("[data-testid=result]").waitFor();
    expect(await page.locator("[data-testid=parameters]").textContent()).toContain('"label": "outer"');
    expect(await page.locator("[data-testid=result]").textContent()).toContain("parent outer / child saw 7");
    await page.locator("[data-testid=subflows] a", { hasText: "uiChild" }).click();
    // The first parameters shown after the click must already be the child's.
    const shown = await page.locator("[data-testid=parameters]").textContent();
    expect(shown).toContain('"n": 7');
    await page.locator("[data-testid=result]").waitFor();
    expect(await page.locator("[data-testid=result]").textContent()).toBe('"child saw 7"');
    expect(await page.locator("[data-testid=subflows]").count()).toBe(0);
    await page.locator("[data-testid=parent-link]").click();
    await page.waitForURL(new RegExp(parent));
    expect(await page.locator("[data-testid=parameters]").textContent()).toContain('"label": "outer"');
  });

  it("keeps earlier log lines when live ones arrive; level and search live in the URL", async () => {
    const chatty = startProcess([BIN, "run", UI_FLOWS, "--flow", "chatty", "--params-json", '{"ticks": 24, "ms": 120}'], env);
    const id = await until(async () => (await api<{ items: { id: string; state: { name: string } }[] }>("/flow-runs?flow=chatty&limit=1")).items.find((r) => r.state.name === "Running")?.id, "the chatty run");
    await page.goto(`${url}/runs/${id}`);
    const lines = page.locator("[data-testid=logs] .log-line");
    await until(async () => (await lines.allTextContents()).some((l) => l.includes("tick 2 done")), "the first ticks");
    await until(async () => (await lines.allTextContents()).some((l) => l.includes("tick 12 done")), "later ticks, live");
    expect(await page.locator("[data-testid=run-state]").textContent()).toBe("Running");
    expect(await chatty.exit).toBe(0);
    await page.locator("[data-testid=run-state]", { hasText: "Completed" }).waitFor();
    // 24 ticks, the flow's own line, and the engine's "Beginning" and "Finished" lines.
    await until(async () => (await page.locator("[data-testid=log-count]").textContent()) === "27 lines loaded", "all 27 lines");
    // Stop following and go to the top: the first line is still there, and no line twice.
    await page.locator("input[aria-label='follow logs']").uncheck();
    await page.locator("[data-testid=logs]").evaluate((el: { scrollTop: number }) => (el.scrollTop = 0));
    await until(async () => (await lines.nth(1).textContent())?.includes("chatty starts with 24 ticks"), "the first line");
    expect(await lines.first().textContent()).toContain("Beginning flow run");
    const texts = (await lines.allTextContents()).map((l) => l.replace(/^\S+ /, ""));
    expect(new Set(texts).size).toBe(texts.length);
    // The log level and the search are in the URL, and a reload keeps them.
    await page.locator("select[aria-label='log level']").selectOption("40");
    await page.locator("input[aria-label='search logs']").fill("tick 1");
    await until(async () => (await search()).get("q") === "tick 1", "the search in the URL");
    expect((await search()).get("level")).toBe("40");
    expect(await page.locator("[data-testid=logs]").textContent()).toBe("No lines match.");
    await page.locator("select[aria-label='log level']").selectOption("10");
    await page.reload();
    await until(async () => (await lines.count()) === 11, "lines matching 'tick 1' (1, 10..19)");
    expect(await page.locator("input[aria-label='search logs']").inputValue()).toBe("tick 1");
    expect(await page.locator("select[aria-label='log level']").inputValue()).toBe("10");
  });

  it("pages logs past the first 5,000 lines", async () => {
    const run = await api<{ id: string }>("/flow-runs", { flowName: "noisy" });
    const t0 = Date.now();
    await api("/logs", { logs: Array.from({ length: 5050 }, (_, i) => ({ flowRunId: run.id, level: 20, message: `line ${i}`, timestamp: t0 + i })) });
    await page.goto(`${url}/runs/${run.id}`);
    await until(async () => (await page.locator("[data-testid=log-count]").textContent()) === "5,000 lines loaded, more to load", "the first page");
    await page.locator("[data-testid=load-more-logs]").click();
    await until(async () => (await page.locator("[data-testid=log-count]").textContent()) === "5,050 lines loaded", "the second page");
    expect(await page.locator("[data-testid=load-more-logs]").count()).toBe(0);
    await page.locator("[data-testid=logs]").evaluate((el: { scrollTop: number; scrollHeight: number }) => (el.scrollTop = el.scrollHeight));
    await until(async () => (await page.locator("[data-testid=logs] .log-line").last().textContent())?.endsWith("line 5049"), "the last line");
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

    // The dashboard counts it; bulk retry schedules it again.
    await page.goto(`${url}/dashboard`);
    await page.locator('[data-testid=flows] tr[data-flow="resumable"]').waitFor();
    expect(Number(await page.locator("[data-testid=tile-failed] b").textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.locator("[data-testid=chart] rect").count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, "dashboard.png") });
    await page.goto(`${url}/?state=Failed`);
    await page.locator("tr[data-run] input[type=checkbox]").first().check();
    await page.locator("[data-testid=bulk] button", { hasText: "Retry selected" }).click();
    expect(await page.locator("[data-testid=bulk-notice]").textContent()).toMatch(/Retried 1 run/);

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
    await page.locator("[data-testid=theme-toggle]").click();
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await page.screenshot({ path: path.join(SHOTS, "flow-run-dark.png"), fullPage: true });
  });
});
