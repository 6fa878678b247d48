/**
 * Pausing for input end to end: a real server and worker process, a deployment's run that
 * pauses at an approval gate. Its process exits (the run is suspended: no process, no worker
 * slot), the run is resumed from the dashboard's form in Chromium (a value the schema refuses
 * first, shown naming the field), and a new process finishes it without running again the task
 * that finished before the pause.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowRun } from "../../src/store/types.ts";
import { BIN, cli, ROOT, startProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { startHarness, type Harness } from "./ui-harness.ts";

const PAUSE_FLOWS = path.join(ROOT, "test/e2e/fixtures/pause-flows.ts");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a deployment's run paused for input", () => {
  let h: Harness;
  let worker: Proc | undefined;
  let log: string;

  beforeAll(async () => {
    h = await startHarness();
    log = path.join(h.dir, "pause.log");
    fs.writeFileSync(log, "");
    await h.api("/work-pools", { name: "gates" });
    await h.api("/deployments", { name: "promote", flowName: "promote", entrypoint: `${PAUSE_FLOWS}:promote`, workPool: "gates" });
    await h.api("/deployments", { name: "approve-model", flowName: "approveModel", entrypoint: `${PAUSE_FLOWS}:approveModel`, workPool: "gates" });
    worker = startProcess([BIN, "worker", "start", "--pool", "gates", "--limit", "1", "--poll-ms", "200", "--heartbeat-ms", "500"], { ...h.env, PAUSE_LOG: log });
  }, 60_000);
  afterAll(async () => {
    if (worker) await stopProcess(worker);
    await h?.close();
  });

  const lines = () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
  const run = (id: string) => h.api<FlowRun>(`/flow-runs/${id}`);

  it("exits its process while paused, resumes from the dashboard form and finishes without re-running its finished task", async () => {
    const { id } = await h.api<{ id: string }>("/deployments/promote/runs", { parameters: {} });
    await until(async () => (await run(id)).state.name === "Paused", "the run to pause", 60_000);
    const paused = await run(id);
    expect(paused.workerId).toBeNull();
    const pausingPid = Number(lines().find((l) => l.startsWith("pausing"))!.split(" ")[1]);
    await until(() => !alive(pausingPid), "the paused run's process to exit", 15_000);
    expect(worker!.stdout()).toMatch(new RegExp(`Flow run .* \\(${id}\\) ended Paused`));

    const page = h.page;
    await page.goto(`${h.url}/runs/${id}`);
    const form = page.getByTestId("resume-form");
    await form.waitFor();
    expect((await page.getByTestId("pause-description").textContent())?.trim()).toBe("Promote the model (accuracy 0.93)?");
    await form.locator("select[name=approve]").selectOption("true");
    await form.locator("input[name=reviewer]").fill("x");
    await form.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.getByTestId("form-error").textContent()).toMatch(/input\.reviewer must have at least 2 character/);
    expect((await run(id)).state.name).toBe("Paused");

    await form.locator("input[name=reviewer]").fill("ana");
    await form.getByRole("button", { name: "Resume" }).click();
    await until(async () => (await run(id)).state.name === "Completed", "the resumed run to complete", 60_000);
    await page.getByTestId("run-state").filter({ hasText: "Completed" }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("resume-form").count()).toBe(0);

    const steps = lines();
    expect(steps.filter((l) => l.startsWith("train"))).toHaveLength(1);
    expect(steps.filter((l) => l.startsWith("pausing"))).toHaveLength(2);
    const resumed = steps.find((l) => l.startsWith("resumed"))!;
    expect(resumed).toMatch(/^resumed ana \d+$/);
    // A new process finished it: the one that paused had exited.
    expect(Number(resumed.split(" ")[2])).not.toBe(pausingPid);
    const input = await h.api<{ input: unknown; suppliedBy: string }>(`/flow-runs/${id}/inputs/pause-1`);
    expect(input).toMatchObject({ input: { approve: true, reviewer: "ana" }, suppliedBy: "api" });
  }, 180_000);

  it("a model promotion waits for a person: the form shows both versions' metrics as a table, and its approval moves production", async () => {
    const { id } = await h.api<{ id: string }>("/deployments/approve-model/runs", { parameters: { name: "pause-model" } });
    await until(async () => (await run(id)).state.name === "Paused", "the promotion to wait for a person", 60_000);
    const page = h.page;
    await page.goto(`${h.url}/runs/${id}`);
    const form = page.getByTestId("resume-form");
    await form.waitFor();
    const description = page.getByTestId("pause-description");
    expect(await description.locator("strong").allTextContents()).toEqual(["pause-model", "production"]);
    const rows = description.locator("table tr");
    const table = await Promise.all(Array.from({ length: await rows.count() }, async (_, k) => (await rows.nth(k).locator("th, td").allTextContents()).map((t) => t.trim())));
    expect(table).toEqual([
      ["metric", "candidate v2", "current v1"],
      ["accuracy", "0.86", "0.81"],
      ["macroF1", "0.7", "0.62"],
    ]);
    await form.locator("select[name=approve]").selectOption("true");
    await form.locator("input[name=comment]").fill("better on both");
    await form.getByRole("button", { name: "Resume" }).click();
    await until(async () => (await run(id)).state.name === "Completed", "the approved run to complete", 60_000);
    const model = await h.api<{ aliases: Record<string, number>; moves: { kind: string; to: number; reason: string | null }[] }>("/models/pause-model");
    expect(model.aliases.production).toBe(2);
    expect(model.moves[0]).toMatchObject({ kind: "promoted", to: 2, reason: "better on both" });
  }, 180_000);

  it("resumes with `baton flow-run resume`, refusing input its schema does not allow", async () => {
    const { id } = await h.api<{ id: string }>("/deployments/promote/runs", { parameters: {} });
    await until(async () => (await run(id)).state.name === "Paused", "the run to pause", 60_000);
    const inspect = await cli(["flow-run", "inspect", id], h.env);
    expect(inspect.stdout).toMatch(/waits for\s+input \(pause-1\): Promote the model/);
    const refused = await cli(["flow-run", "resume", id, "--input", '{"approve": "yes", "reviewer": "bo"}'], h.env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/input\.approve must be boolean/);
    const resumed = await cli(["flow-run", "resume", id, "--input", '{"approve": false, "reviewer": "bo"}'], h.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resumed: Scheduled/);
    await until(async () => (await run(id)).state.name === "Completed", "the resumed run to complete", 60_000);
    expect((await run(id)).state.name).toBe("Completed");
  }, 120_000);
});
