/**
 * The flow run page, the task table and task-run page, the runs list's filters and the Run form
 * in a real browser (Debian's Chromium through playwright-core) against the real server: the
 * header's facts and confirmed actions, a retried run's duration without its idle gap, the
 * graph's edges for values passed on without futures, sub-flow nodes, fit/zoom/pan with the
 * example's graph, the task table's filters and sorting, and field-level form errors.
 * Screenshots go to docs/screenshots/.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, startProcess, until } from "../support/processes.ts";
import { SHOTS, startHarness, type Harness } from "./ui-harness.ts";

const RUN_FLOWS = path.join(ROOT, "test/e2e/fixtures/ui-run-flows.ts");
const EXAMPLE = path.join(ROOT, "examples/train.ts");

interface Run {
  id: string;
  name: string;
  flowName: string;
  tags: string[];
  state: { name: string; type: string; scheduledAt?: number | null };
  parameters: Record<string, unknown>;
  workQueue: string | null;
  deploymentId: string | null;
}

describe("dashboard in Chromium: a flow run's page, its tasks, the runs list and the Run form", () => {
  let h: Harness;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    // Large results in the database, through the API: the run page reads them wherever they ran.
    h = await startHarness({ env: { BATON_RESULTS_URL: "db" } });
    ({ page, url } = h);
    await h.api("/work-pools", { name: "rp-pool" });
    await h.api("/work-pools/rp-pool/queues", { name: "urgent", priority: 1 });
    await h.api("/deployments", {
      name: "rp-dep",
      flowName: "rpFlow",
      entrypoint: `${RUN_FLOWS}:rpFlow`,
      workPool: "rp-pool",
      tags: ["team-a"],
      parameters: { depth: 2 },
      parameterSchema: {
        type: "object",
        properties: {
          depth: { type: "integer", minimum: 1 },
          mode: { type: "string", enum: ["fast", "thorough"] },
          model: { anyOf: [{ const: "forest" }, { const: "boosted" }] },
          note: { type: "string", maxLength: 5 },
        },
        required: ["depth"],
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const runFlow = (name: string, args: string[] = []) => h.runFlow(name, args, RUN_FLOWS);
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? "";

  it("says when a Scheduled run will run, links its deployment, tags and parent, and runs it again from a prefilled form with errors at the fields", async () => {
    const at = Date.now() + 2 * 3600_000;
    const run = await h.api<Run>("/deployments/rp-dep/runs", { name: "nightly-rp", tags: ["ui"], parameters: { depth: 3, mode: "fast" }, scheduledAt: at });
    await page.goto(`${url}/runs/${run.id}`);
    await page.locator("[data-testid=scheduled-for]").waitFor();
    expect(await text("[data-testid=scheduled-for]")).toMatch(/^in 1 h 5\d min|^in 2 h 0 min/);
    expect(await page.locator("[data-testid=deployment] a").getAttribute("href")).toBe("/deployments/rp-dep");
    expect(await page.locator("[data-testid=tags] a").allTextContents()).toEqual(["#team-a", "#ui"]);
    expect(await text("[data-testid=run-facts]")).toContain("rp-pool / default");
    expect(await text("[data-testid=duration]")).toBe("–");

    // Run again: the form starts from this run's parameters; the enum and the union of constants are selects.
    await page.locator("[data-testid=run-again]").click();
    const form = page.locator("[data-testid=run-form]");
    await form.waitFor();
    expect(await form.locator('input[name="depth"]').inputValue()).toBe("3");
    expect(await form.locator('select[name="mode"]').inputValue()).toBe("fast");
    expect(await form.locator('select[name="model"] option').allTextContents()).toEqual(["–", "forest", "boosted"]);
    // Two bad fields: each problem shows at its field, and nothing is sent.
    await form.locator('input[name="depth"]').fill("0");
    await form.locator('input[name="note"]').fill("too long");
    await form.locator("button[type=submit]").click();
    await form.locator("[data-testid=problem-depth]").waitFor();
    expect(await form.locator("[data-testid=problem-depth]").textContent()).toBe("parameters.depth must be >= 1");
    expect(await form.locator("[data-testid=problem-note]").textContent()).toBe("parameters.note must have at most 5 character(s)");
    expect(await form.locator('input[name="depth"]').getAttribute("aria-invalid")).toBe("true");
    expect(await form.locator("[data-testid=form-error]").textContent()).toBe("2 field(s) to fix");
    await form.locator('input[name="depth"]').fill("4");
    await form.locator('input[name="note"]').fill("");
    expect(await form.locator("[data-testid=problem-depth]").count()).toBe(0);
    // A refusal only the server makes (an environment variable the pool does not allow) shows at its field.
    await form.locator("[data-testid=run-options] summary").click();
    await form.locator('textarea[name="run:jobVariables"]').fill('{ "env": { "NODE_OPTIONS": "--require=/x" } }');
    await form.locator("button[type=submit]").click();
    await form.locator("[data-testid=problem-jobVariables]").waitFor();
    expect(await form.locator("[data-testid=problem-jobVariables]").textContent()).toMatch(/^body\.jobVariables\.env\.NODE_OPTIONS is refused/);
    await form.locator('textarea[name="run:jobVariables"]').fill('{ "env": { "LOG_LEVEL": "debug" } }');
    await form.locator('input[name="run:name"]').fill("by hand");
    await form.locator('input[name="run:tags"]').fill("ui, again");
    await form.locator('select[name="run:workQueue"]').selectOption("urgent");
    await form.locator('select[name="model"]').selectOption("boosted");
    await page.screenshot({ path: path.join(SHOTS, "run-form.png"), fullPage: true });
    await form.locator("button[type=submit]").click();
    await page.waitForURL((u) => u.pathname.startsWith("/runs/") && !u.pathname.endsWith(run.id));
    const again = await h.api<Run>(`/flow-runs/${page.url().split("/runs/")[1]}`);
    expect(again).toMatchObject({ name: "by hand", workQueue: "urgent", tags: ["team-a", "ui", "again"], parameters: { depth: 4, mode: "fast", model: "boosted" } });
    await page.locator("h1", { hasText: "by hand" }).waitFor();
  });

  it("cancels, retries, pauses and resumes, changes the state and deletes a run, each after a confirmation", async () => {
    const run = await h.api<Run>("/deployments/rp-dep/runs", { scheduledAt: Date.now() + 3600_000 });
    await page.goto(`${url}/runs/${run.id}`);
    await page.locator("[data-testid=cancel]").click();
    // Keep: nothing happens.
    await page.locator("[role=alertdialog] button", { hasText: "Keep" }).click();
    expect((await h.api<Run>(`/flow-runs/${run.id}`)).state.name).toBe("Scheduled");
    await page.locator("[data-testid=cancel]").click();
    await page.locator("[data-testid=cancel-confirm]").click();
    await page.locator("[data-testid=run-state]", { hasText: "Cancelled" }).waitFor();
    // A cancelled run of a work pool is retried for a worker to resume.
    await page.locator("[data-testid=retry]").click();
    await page.locator("[data-testid=retry-confirm]").click();
    await page.locator("[data-testid=run-state]", { hasText: "AwaitingRetry" }).waitFor();
    expect(await text("[data-testid=run-notice]")).toContain("Retry scheduled");

    // Pause: offered for a running run a worker can start again; it comes back with Resume.
    await h.api(`/flow-runs/${run.id}/set-state`, { state: { name: "Running" }, force: true });
    await page.reload();
    await page.locator("[data-testid=pause]").click();
    await page.locator("[data-testid=pause-confirm]").click();
    await page.locator("[data-testid=run-state]", { hasText: "Paused" }).waitFor();
    const resume = page.locator("[data-testid=resume-form]");
    // The header's Resume leads to the form, which is the confirmation.
    await page.locator("[data-testid=resume]").click();
    // Focus moves into the form once it has rendered.
    await until(async () => (await page.evaluate("document.activeElement?.closest('[data-testid=resume-form]') !== null")) === true, "focus in the resume form", 5_000);
    await resume.locator("button[type=submit]").click();
    await page.locator("[data-testid=run-state]", { hasText: "Scheduled" }).waitFor();

    // Change state (an admin: this server has no keys): the form is the confirmation.
    await page.locator("[data-testid=change-state]").click();
    const change = page.locator("[data-testid=change-state-form]");
    await change.locator("button[type=submit]").click();
    expect(await change.locator("[data-testid=form-error]").textContent()).toBe("state: choose the state to set");
    await change.locator('select[name="state"]').selectOption("Crashed");
    await change.locator('input[name="message"]').fill("marked by hand");
    await change.locator("button[type=submit]").click();
    await page.locator("[data-testid=run-state]", { hasText: "Crashed" }).waitFor();
    await page.locator("[data-testid=history]", { hasText: "marked by hand" }).waitFor();

    // Re-run (an ended run of a work pool): a new run on its parameters, whose page opens.
    await page.locator("[data-testid=rerun]").click();
    await page.locator("[data-testid=rerun-confirm]").click();
    await page.waitForURL((u) => u.pathname.startsWith("/runs/") && !u.pathname.endsWith(run.id));
    const rerun = await h.api<Run>(`/flow-runs/${page.url().split("/runs/")[1]}`);
    expect(rerun).toMatchObject({ deploymentId: run.deploymentId, parameters: run.parameters, state: { name: "Scheduled", message: `re-run of flow run ${run.id}` } });
    await page.goto(`${url}/runs/${run.id}`);

    // Delete, after a confirmation: back to the list, and the run is gone.
    await page.locator("[data-testid=delete]").click();
    await page.locator("[data-testid=delete-confirm]").click();
    await page.waitForURL(`${url}/`);
    await expect(h.api(`/flow-runs/${run.id}`)).rejects.toThrow(/404/);
  });

  it("shows a retried run's duration without the idle gap, and its timeline per attempt", async () => {
    const id = await runFlow("retriedFlow");
    await page.goto(`${url}/runs/${id}`);
    await page.locator("[data-testid=timeline-attempts]").waitFor();
    expect(await page.locator("[data-testid=timeline-attempts] [data-attempt]").count()).toBe(2);
    const duration = await text("[data-testid=duration]");
    expect(duration).toMatch(/over 2 attempts, not counting 1\.\d s idle between them/);
    // The run took over 1.5 s end to end; its attempts well under that.
    const [, ms, s] = /^(?:(\d+) ms|([\d.]+) s)/.exec(duration)!;
    expect(ms !== undefined ? Number(ms) : Number(s) * 1000).toBeLessThan(1500);
  });

  it("draws an edge for every value passed on (no futures), sub-flows as nodes that open their runs", async () => {
    const id = await runFlow("primitives");
    await page.goto(`${url}/runs/${id}`);
    await page.locator('g[data-node="publish"]').waitFor();
    expect((await h.attrs("path[data-edge]", "data-edge")).sort()).toEqual(["0:modelPath>1:publish", "0:rowCount>1:publish"]);

    const parent = await runFlow("withSubflows");
    await page.goto(`${url}/runs/${parent}`);
    await page.locator('g[data-kind="flow"]').first().waitFor();
    expect(await page.locator('g[data-kind="flow"]').count()).toBe(2);
    // The one called from a task hangs off that task; the other was called by the flow itself.
    expect(await h.attrs("path[data-edge]", "data-edge")).toContain("0:callsChild>1:flow:childFlow");
    await page.locator('g[data-node-id="1:flow:childFlow"]').click();
    await page.waitForURL((u) => u.pathname.startsWith("/runs/") && !u.pathname.endsWith(parent));
    // The parent is named (once its record is read), not just linked.
    await page.locator("[data-testid=parent-link]", { hasText: "(withSubflows)" }).waitFor();
  });

  it("fits the example's graph to the page, zooms and pans", async () => {
    const id = await h.runFlow("train", ["--params-json", '{"nEstimators":[4],"maxDepth":[3,4]}'], EXAMPLE);
    await page.goto(`${url}/runs/${id}`);
    const graph = page.locator("[data-testid=graph]");
    await page.locator('g[data-node="pickBest"]').waitFor();
    expect(await graph.getAttribute("data-fit")).toBe("true");
    const box = async () => (await page.locator(".graph").boundingBox())!;
    const content = async () => (await page.locator("[data-testid=graph-content]").boundingBox())!;
    // Six nodes in a row are wider than the page: the fitted graph is scaled down to its width.
    expect(Number(await graph.getAttribute("data-scale"))).toBeLessThan(1);
    expect((await content()).width).toBeLessThanOrEqual((await box()).width + 1);
    const fitted = Number(await graph.getAttribute("data-scale"));
    await page.locator("[data-testid=zoom-in]").click();
    expect(Number(await graph.getAttribute("data-scale"))).toBeCloseTo(fitted * 1.25, 2);
    expect(await graph.getAttribute("data-fit")).toBe("false");
    // Drag the background (a corner no node covers): the graph moves with the pointer. The graph
    // is brought on screen first: a corner below the window takes no pointer events.
    await page.locator(".graph").scrollIntoViewIfNeeded();
    const before = await content();
    const b = await box();
    const corners = [[b.x + 5, b.y + b.height - 5], [b.x + b.width - 5, b.y + b.height - 5], [b.x + 5, b.y + 5], [b.x + b.width - 5, b.y + 5]] as const;
    const onNode = (x: number, y: number) => page.evaluate<boolean>(`Boolean(document.elementFromPoint(${x}, ${y})?.closest("g[data-node]"))`);
    let start: readonly [number, number] | undefined;
    for (const c of corners) if (!(await onNode(c[0], c[1]))) (start ??= c);
    expect(start, "a corner of the graph with no node on it").toBeDefined();
    const [sx, sy] = start!;
    const dx = sx < b.x + b.width / 2 ? 100 : -100;
    const dy = sy > b.y + b.height / 2 ? -20 : 20;
    await page.mouse.move(sx, sy);
    await page.mouse.down();
    await page.mouse.move(sx + dx, sy + dy, { steps: 5 });
    await page.mouse.up();
    const after = await content();
    expect(after.x - before.x).toBeCloseTo(dx, 0);
    expect(after.y - before.y).toBeCloseTo(dy, 0);
    // Ctrl + wheel zooms the graph (and not the page).
    const zoomed = Number(await graph.getAttribute("data-scale"));
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -100);
    await page.keyboard.up("Control");
    await until(async () => Number(await graph.getAttribute("data-scale")) > zoomed, "the wheel's zoom");
    expect(await page.evaluate("window.visualViewport.scale")).toBe(1);
    await page.locator("[data-testid=zoom-fit]").click();
    expect(Number(await graph.getAttribute("data-scale"))).toBeCloseTo(fitted, 3);
    await page.locator("[data-testid=zoom-100]").click();
    expect(await graph.getAttribute("data-scale")).toBe("1.000");
    // A click (not a drag) on a node still opens it.
    await page.locator("[data-testid=zoom-fit]").click();
    await page.locator('g[data-node="loadDataset"]').click();
    await page.locator("h1", { hasText: "loadDataset-0" }).waitFor();
  });

  it("filters the task table by state and key, sorts by any column; the task-run page lists 150 inputs, its result, tags and each attempt's error", async () => {
    const id = await runFlow("fanIn");
    await page.goto(`${url}/runs/${id}`);
    const keys = () => h.attrs(".task-row[data-task]", "data-task");
    await page.locator('.task-row[data-task="part-0"]').waitFor();
    await page.locator("select[aria-label='task state filter']").selectOption("FAILED");
    await until(async () => (await keys()).join() === "failing-0", "the failed task run");
    expect((await h.search()).get("tstate")).toBe("FAILED");
    await page.locator("select[aria-label='task state filter']").selectOption("");
    await page.locator("input[aria-label='search task keys']").fill("slowStep");
    await until(async () => (await keys()).length === 3, "the three slow steps");
    await page.locator("[data-sort=duration]").click();
    await until(async () => (await keys()).join() === "slowStep-0,slowStep-2,slowStep-1", "shortest first");
    await page.locator("[data-sort=duration]").click();
    await until(async () => (await keys()).join() === "slowStep-1,slowStep-2,slowStep-0", "longest first");
    expect((await h.search()).get("tsort")).toBe("duration:desc");
    await page.locator("input[aria-label='search task keys']").fill("part-14");
    await page.locator("[data-sort=key]").click();
    await until(async () => (await keys()).join() === "part-14,part-140,part-141,part-142,part-143,part-144,part-145,part-146,part-147,part-148,part-149", "keys in numeric order");

    // The task that combined 150 parts: its inputs, virtualised.
    await page.goto(`${url}/runs/${id}?tq=combine`);
    await page.locator('.task-row[data-task="combine-0"]').click();
    await page.locator("h1", { hasText: "combine-0" }).waitFor();
    const inputs = page.locator("[data-testid=upstream]");
    await inputs.waitFor();
    expect(await inputs.getAttribute("data-rows")).toBe("150");
    expect(await inputs.locator("[data-input]").count()).toBeLessThan(60);
    expect(await text("h2:has-text('Inputs from upstream')")).toContain("(150)");
    expect(await text("[data-testid=task-result]")).toBe(String(Array.from({ length: 150 }, (_, i) => i * i).reduce((a, b) => a + b, 0)));
    await page.screenshot({ path: path.join(SHOTS, "task-run.png"), fullPage: true });

    // The flaky step: tags, and its first attempt's error.
    await page.goto(`${url}/runs/${id}?tq=flakyStep`);
    await page.locator('.task-row[data-task="flakyStep-0"]').click();
    await page.locator("[data-testid=attempts] tbody tr").nth(1).waitFor();
    expect(await text("[data-testid=task-tags]")).toBe("#flaky #ui");
    expect(await page.locator("[data-testid=attempt-error]").allTextContents()).toEqual(["flaky step failed on its first attempt", ""]);
    expect(await page.locator("[data-testid=upstream]").count()).toBe(0);
  });

  it("previews a large result from the server's result storage", async () => {
    const id = await h.runFlow("bigResult", [], RUN_FLOWS);
    const run = await h.api<Run & { resultId: string }>(`/flow-runs/${id}`);
    const stored = await h.api<{ value: string | null; path: string | null; size: number }>(`/results/${run.resultId}`);
    expect(stored.value).toBeNull(); // over the inline limit: the row names the blob
    expect(stored.path).toMatch(/^[0-9a-f]{64}\.json$/);
    await page.goto(`${url}/runs/${id}`);
    await page.locator("summary", { hasText: "Result (" }).click();
    await until(async () => (await page.locator("[data-testid=result]").textContent())?.includes('"row 0 xxxxxxxxxxxxxxxxxxxx"'), "the result's preview");
  });

  it("jumps to the running task during a live run", async () => {
    const proc = startProcess([BIN, "run", RUN_FLOWS, "--flow", "longStep", "--params-json", '{"ms": 4000}'], h.env);
    try {
      const id = await until(async () => (await h.api<{ items: Run[] }>("/flow-runs?flow=longStep&limit=1")).items[0]?.id, "the long run");
      await page.goto(`${url}/runs/${id}`);
      await page.locator("[data-testid=jump-running]").waitFor({ timeout: 10_000 });
      // The 5 ms step may still be running when the page opens: the live count drops to the long one.
      await until(async () => (await text("[data-testid=jump-running]")) === "Jump to running (1)", "one running task", 10_000);
      await page.locator("[data-testid=jump-running]").click();
      expect(await h.attrs('.task-row[data-selected="true"]', "data-task")).toEqual(["slowStep-1"]);
    } finally {
      expect(await proc.exit).toBe(0);
    }
  });

  it("applies runs-list filters as you type, by flow name prefix; selects all; saves filters; says when a Scheduled run starts", async () => {
    for (const flowName of ["alphaOne", "alphaTwo", "betaOne"]) await h.api("/flow-runs", { flowName });
    const due = Date.now() + 3600_000;
    await h.api("/flow-runs", { flowName: "alphaLater", state: "Scheduled", scheduledAt: due });
    await page.goto(`${url}/`);
    await page.locator("tr[data-run]").first().waitFor();
    const flows = async () => (await page.locator("tr[data-run] td:nth-child(3)").allTextContents()).sort();
    const historyLength = (await page.evaluate("history.length")) as number;
    await page.locator("input[aria-label='flow filter']").pressSequentially("ALPHA", { delay: 40 });
    // No Enter: the filter applies once typing pauses, and the URL is replaced, not pushed per key.
    await until(async () => (await flows()).join() === "alphaLater,alphaOne,alphaTwo", "the alpha runs");
    expect((await h.search()).get("flow")).toBe("ALPHA");
    expect(await page.evaluate("history.length")).toBe(historyLength);
    const later = page.locator("tr[data-run]", { hasText: "alphaLater" });
    expect(await later.locator("[data-testid=started]").textContent()).toBe(`scheduled for ${await page.evaluate(`new Date(${due}).toLocaleString()`)}`);
    expect(await page.locator("tr[data-run]", { hasText: "alphaOne" }).locator("[data-testid=started]").textContent()).toBe("not started");

    await page.locator("[data-testid=select-all]").check();
    expect(await text("[data-testid=bulk] span")).toBe("3 selected");
    await page.locator("tr[data-run] input[type=checkbox]").first().uncheck();
    expect(await page.locator("[data-testid=select-all]").evaluate((el: { indeterminate: boolean }) => el.indeterminate)).toBe(true);
    // From some selected, the box selects all again; then none.
    await page.locator("[data-testid=select-all]").check();
    expect(await text("[data-testid=bulk] span")).toBe("3 selected");
    await page.locator("[data-testid=select-all]").uncheck();
    expect(await page.locator("[data-testid=bulk]").count()).toBe(0);

    await page.locator("[data-testid=save-filter]").click();
    await page.locator("input[aria-label='saved filter name']").fill("alphas");
    await page.locator("[data-testid=saved-filters] button[type=submit]").click();
    await page.goto(`${url}/`);
    await page.locator('[data-saved="alphas"] a').click();
    await until(async () => (await flows()).join() === "alphaLater,alphaOne,alphaTwo", "the saved filter");
    expect(await page.locator("input[aria-label='flow filter']").inputValue()).toBe("ALPHA");
  });
});
