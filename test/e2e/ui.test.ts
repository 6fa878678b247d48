/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), against the real
 * server: a run with a retried and a failed task shows its graph, states, timeline and logs; a
 * running flow updates live; filters live in the URL. Screenshots go to docs/screenshots/.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startProcess, until, BIN } from "../support/processes.ts";
import { FLOWS, SHOTS, startHarness, UI_FLOWS, type Harness } from "./ui-harness.ts";

describe("dashboard in Chromium: runs", () => {
  let h: Harness;
  let page: Page;
  let url: string;
  let env: Record<string, string>;

  /** The pipeline run (a graph with edges): the screenshots show it. */
  let pipelineId = "";

  beforeAll(async () => {
    h = await startHarness();
    ({ page, url, env } = h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const api = <T = unknown>(p: string, body?: unknown) => h.api<T>(p, body);
  const runUiFlow = (flowName: string, args: string[] = []) => h.runFlow(flowName, args);
  const attrs = (selector: string, name: string) => h.attrs(selector, name);
  const search = () => h.search();

  it("shows a run's graph, task states, timeline and logs", async () => {
    const run = await cli(["run", FLOWS, "--flow", "mixed", "--param", "label=ui"], env);
    expect(run.code, run.stderr).toBe(0);
    await page.goto(`${url}/`);
    const row = page.locator("tr[data-run]").first();
    await row.waitFor();
    expect(await row.textContent()).toContain("mixed");
    expect(await row.locator(".state").textContent()).toBe("Completed");
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
    pipelineId = id;
    await page.goto(`${url}/runs/${id}`);
    await page.locator('g[data-node="reduce"]').waitFor();
    await page.locator("[data-testid=logs] .log-line").first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, "flow-run.png"), fullPage: true });
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
    await page.locator("h1", { hasText: "transform-0" }).waitFor();
    expect(await page.locator("[data-testid=upstream]").textContent()).toContain("extract-0");
  });

  it("moves through the task table with j/k/Enter, copies the run id, explains a cache hit", async () => {
    const id = await runUiFlow("pipeline");
    await page.goto(`${url}/runs/${id}`);
    await page.locator('.task-row[data-task="reduce-0"]').waitFor();
    await page.locator("[data-testid=run-state]").click(); // focus leaves any field or button
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    expect(await attrs('.task-row[data-selected="true"]', "data-task")).toEqual(["score-0"]);
    await page.keyboard.press("Enter");
    await page.locator("h1", { hasText: "score-0" }).waitFor();
    await page.goBack();
    // Copy id: the clipboard holds the run id, and the button says so.
    await page.locator("button", { hasText: "Copy id" }).click();
    await page.locator("button", { hasText: "Copied ✓" }).waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(id);
    // Without the Clipboard API the value is still copied, or offered in a selected field.
    await page.evaluate("Object.defineProperty(navigator, 'clipboard', { value: undefined })");
    await page.locator("button", { hasText: "Copy id" }).click();
    await until(async () => (await page.locator("button", { hasText: "Copied ✓" }).count()) === 1 || (await page.locator("[data-testid=copy-fallback] input").inputValue().catch(() => "")) === id, "a copy or a fallback");

    const cachedRun = await runUiFlow("cachedTwice");
    const tasks = await api<{ items: { id: string; taskKey: string }[] }>(`/flow-runs/${cachedRun}/task-runs`);
    await page.goto(`${url}/task-runs/${tasks.items.find((t) => t.taskKey === "lookup-1")!.id}`);
    await page.locator("[data-testid=served-from-cache]").waitFor();
    expect(await page.locator("[data-testid=task-state]").textContent()).toBe("Cached");
    expect(await page.locator("[data-testid=cache]").textContent()).toBe("hit");
    expect(await page.locator("[data-testid=attempts]").count()).toBe(0);
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

  it("styles a state's message as an error only for error states", async () => {
    const informed = await api<{ id: string }>("/flow-runs", { flowName: "messages" });
    await api(`/flow-runs/${informed.id}/set-state`, { state: { name: "Scheduled", message: "created by the scheduler" }, force: true });
    await page.goto(`${url}/runs/${informed.id}`);
    const message = page.locator("[data-testid=state-message]");
    await message.waitFor();
    expect(await message.textContent()).toBe("created by the scheduler");
    expect(await message.getAttribute("class")).toBe("muted");
    for (const [name, text] of [["Failed", "boom: bad input"], ["TimedOut", "flow timed out"], ["Crashed", "no heartbeat"]] as const) {
      const failed = await api<{ id: string }>("/flow-runs", { flowName: "messages" });
      await api(`/flow-runs/${failed.id}/set-state`, { state: { name, message: text }, force: true });
      await page.goto(`${url}/runs/${failed.id}`);
      await page.locator("[data-testid=state-message]", { hasText: text }).waitFor();
      expect(await message.getAttribute("class"), name).toBe("error");
    }
  });

  it("renders markdown artifacts, without anything that could run code or restyle the page", async () => {
    const run = await api<{ id: string }>("/flow-runs", { flowName: "reporting" });
    const report = [
      "# Model report",
      "",
      "Accuracy **0.83** on *365* days; see [the data](https://example.org/weather).",
      "",
      "- sun",
      "- rain",
      "",
      "| model | accuracy |",
      "| --- | --- |",
      "| forest | 0.83 |",
      "",
      "<script>window.__pwned = 'script'</script>",
      "",
      '<img src="x" onerror="window.__pwned = \'onerror\'">',
      "",
      "[click](javascript:window.__pwned='link')",
      "",
      '<style>body { display: none }</style><p style="color: red">styled</p>',
    ].join("\n");
    await api("/artifacts", { id: crypto.randomUUID(), key: "report", type: "markdown", data: report, flowRunId: run.id });
    await page.goto(`${url}/runs/${run.id}`);
    const md = page.locator('[data-artifact="report"] [data-testid=markdown]');
    await md.locator("h1").waitFor();
    expect(await md.locator("h1").textContent()).toBe("Model report");
    expect(await md.locator("strong").textContent()).toBe("0.83");
    expect(await md.locator("li").allTextContents()).toEqual(["sun", "rain"]);
    expect(await md.locator("td").allTextContents()).toEqual(["forest", "0.83"]);
    const link = md.locator("a", { hasText: "the data" });
    expect([await link.getAttribute("href"), await link.getAttribute("target"), await link.getAttribute("rel")]).toEqual(["https://example.org/weather", "_blank", "noopener noreferrer"]);
    expect(await md.textContent()).not.toContain("# Model report");
    // Nothing of the hostile part survives: no script, handler, javascript: URL or style.
    expect(await md.locator("script, style, [onerror], [style]").count()).toBe(0);
    expect(await md.locator("a", { hasText: "click" }).getAttribute("href")).toBeNull();
    await md.locator("a", { hasText: "click" }).click();
    expect(await page.evaluate("window.__pwned ?? null")).toBeNull();
    expect(await page.evaluate("getComputedStyle(document.body).display")).toBe("block");
  });

  it("shows a not-found page at an address it has no page for, not the runs list", async () => {
    await page.goto(`${url}/no-such-page`);
    await page.locator("[data-testid=not-found]").waitFor();
    expect(await page.locator("[data-testid=not-found]").textContent()).toContain("/no-such-page");
    expect(await page.locator("tr[data-run]").count()).toBe(0);
    expect(await page.locator("nav a.active").count()).toBe(0);
    await page.locator("[data-testid=not-found] a", { hasText: "Flow runs" }).click();
    await page.locator("tr[data-run]").first().waitFor();
  });

  it("lays the top bar's links out on whole lines, none over another, at 1,280 and 800 px wide", async () => {
    for (const width of [1280, 800]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${url}/automations`);
      await page.locator("nav a.active").waitFor();
      type Box = { left: number; right: number; top: number; bottom: number };
      type Laid = { textContent: string | null; getClientRects(): { length: number }; getBoundingClientRect(): Box };
      const boxes = await page.locator("nav a, .topbar .theme").evaluateAll((els: Laid[]) =>
        els.map((el) => {
          const rects = el.getClientRects();
          const box = el.getBoundingClientRect();
          return { text: el.textContent, lines: rects.length, left: box.left, right: box.right, top: box.top, bottom: box.bottom };
        }),
      );
      expect(boxes.length).toBeGreaterThan(10);
      for (const box of boxes) expect(box.lines, `"${box.text}" at ${width} px is broken over lines`).toBe(1);
      for (const [i, a] of boxes.entries())
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
          expect(overlap, `"${a.text}" and "${b.text}" overlap at ${width} px`).toBe(false);
        }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("pages logs past the first 5,000 lines", async () => {
    const run = await api<{ id: string }>("/flow-runs", { flowName: "noisy" });
    // Follow the run's stream until the server's event hub has passed every line, so the page
    // (opened after) finds them in the database only: the first page, then "load more".
    const stream = await fetch(`${url}/api/live/stream?flowRunId=${run.id}`);
    const reader = stream.body!.getReader();
    const t0 = Date.now();
    await api("/logs", { logs: Array.from({ length: 5050 }, (_, i) => ({ flowRunId: run.id, level: 20, message: `line ${i}`, timestamp: t0 + i })) });
    for (let text = ""; !text.includes("line 5049"); ) text = text.slice(-100) + new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await page.goto(`${url}/runs/${run.id}`);
    await until(async () => (await page.locator("[data-testid=log-count]").textContent()) === "5,000 lines loaded, more to load", "the first page");
    await page.locator("[data-testid=load-more-logs]").click();
    await until(async () => (await page.locator("[data-testid=log-count]").textContent()) === "5,050 lines loaded", "the second page");
    expect(await page.locator("[data-testid=load-more-logs]").count()).toBe(0);
    await page.locator("[data-testid=logs]").evaluate((el: { scrollTop: number; scrollHeight: number }) => (el.scrollTop = el.scrollHeight));
    await until(async () => (await page.locator("[data-testid=logs] .log-line").last().textContent())?.endsWith("line 5049"), "the last line");
  });

  it("follows a running flow live, refetching the task list only for new task runs; the theme toggle switches to dark", async () => {
    const slow = startProcess([BIN, "run", FLOWS, "--flow", "slow", "--params-json", '{"count": 8, "ms": 250}'], env);
    const id = await until(async () => (await api<{ items: { id: string }[] }>("/flow-runs?flow=slow&state=Running")).items[0]?.id, "the slow run");
    const taskListFetches: number[] = [];
    const count = (request: { url(): string }) => request.url().endsWith(`/api/flow-runs/${id}/task-table`) && taskListFetches.push(Date.now());
    page.on("request", count);
    try {
      await page.goto(`${url}/runs/${id}`);
      expect(await page.locator("[data-testid=run-state]").textContent()).toBe("Running");
      // No reload: the page follows the server's event stream.
      await page.locator("[data-testid=run-state]", { hasText: "Completed" }).waitFor({ timeout: 20_000 });
      await until(async () => (await page.locator(".task-row[data-task] .state").allTextContents()).filter((s) => s === "Completed").length === 8, "eight completed task rows");
      expect(await slow.exit).toBe(0);
    } finally {
      page.off("request", count);
    }
    // 8 task runs × (Pending, Running, Completed) = 24 task events; the task list is fetched for
    // the first render, for new task runs (coalesced, at most every 500 ms) and once at the end.
    expect(taskListFetches.length).toBeGreaterThanOrEqual(2);
    expect(taskListFetches.length).toBeLessThanOrEqual(11);
    for (let i = 2; i < taskListFetches.length; i++) expect(taskListFetches[i]! - taskListFetches[i - 1]!).toBeGreaterThanOrEqual(400);
    await page.goto(`${url}/runs/${pipelineId}`);
    await page.locator('g[data-node="reduce"]').waitFor();
    await page.locator("[data-testid=theme-toggle]").click();
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await page.locator("[data-testid=logs] .log-line").first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, "flow-run-dark.png"), fullPage: true });
    await page.locator("[data-testid=theme-toggle]").click();
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("light");
  });
});
