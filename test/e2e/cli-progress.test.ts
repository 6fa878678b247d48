/**
 * The live progress of `baton run` and `baton flow-run watch` (on SQLite: the drawing is the
 * CLI's, the same on any store). In a pseudo-terminal (util-linux `script`) the block of bars is
 * redrawn in place — carriage return, cursor up, erase — with each task name's done/total, and
 * a final summary follows; through a pipe, or with `--no-progress`, plain lines only.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import { freshDatabaseUrl } from "../support/databases.ts";
import { BIN, ROOT, startProcess, stopProcess, until } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/progress-flows.ts");
/** What moves the cursor back over a block of several lines: carriage return, cursor up, erase down. */
const REDRAW = /\r\u001b\[\d+A\u001b\[J/;
const CURSOR_UP = /\u001b\[\d+A/;

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/** Runs `baton ARGS` in a pseudo-terminal: `script` gives it one for stdin, stdout and stderr alike. */
function inTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: ROOT, env: { ...process.env, CI: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}

describe("live progress", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let url: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    ({ url, cleanup } = await freshDatabaseUrl("sqlite"));
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-progress-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "info" };
  });
  afterAll(async () => {
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("baton run on a terminal redraws a bar per task name in place, then prints the summary", async () => {
    const { code, output } = await inTerminal(["run", FLOWS], env);
    expect(code, output).toBe(0);
    // Redrawn several times (100 ms apart over a run of about a second), each time over the last block.
    expect(output.split(REDRAW).length, output).toBeGreaterThan(3);
    expect(output).toMatch(/fetchPage +█+░* +\d\/6/); // a bar half-way
    expect(output).toMatch(/running/);
    // The final picture: every task done, elapsed time, no spinner; then the summary.
    expect(output).toMatch(/crawl · \d+\.\d s · 9\/9 task runs done/);
    expect(output).toMatch(/fetchPage +█{20} 6\/6/);
    expect(output).toMatch(/parsePage +█{20} 3\/3/);
    expect(output).toMatch(/Flow run \S+ \(\S+\) of "crawl" ended Completed in [\d.]+ s/);
    expect(output).toMatch(/Task runs: 9 Completed/);
    // Log lines go above the block.
    expect(output).toMatch(/fetched 6 pages/);
  });

  it("through a pipe and with --no-progress: plain lines; flow-run watch draws the bars from the run's events", async () => {
    // A slow run (3 pages at a time, 3 s each), piped: plain lines. Watched meanwhile on a terminal.
    const runner = startProcess([BIN, "run", FLOWS, "--params-json", '{"ms":3000}'], env);
    try {
      const id = await until(async () => {
        const store = await openStore(url);
        try {
          return (await store.pageFlowRuns({ flowName: "crawl", limit: 10 })).items.find((r) => r.state.type === "RUNNING")?.id;
        } finally {
          await store.close();
        }
      }, "the run to start", 60_000);
      const [live, plain] = await Promise.all([inTerminal(["flow-run", "watch", id], env), inTerminal(["run", FLOWS, "--no-progress"], env)]);
      expect(await runner.exit, runner.stderr()).toBe(0);
      for (const output of [runner.stdout() + runner.stderr(), plain.output]) {
        expect(output).not.toMatch(CURSOR_UP);
        expect(output).not.toMatch(/█/);
        expect(output).toMatch(/\| task fetchPage-5 -> Completed/);
        expect(output).toMatch(/\| task parsePage-2 -> Completed/);
        expect(output).toMatch(/Task runs: 9 Completed/);
      }
      expect(live.code, live.output).toBe(0);
      expect(live.output).toMatch(REDRAW);
      expect(live.output).toMatch(/fetchPage +█* *░* +[0-5]\/6/); // seen before the end
      expect(live.output).toMatch(/fetchPage +█{20} 6\/6/);
      expect(live.output).toMatch(/Flow run ended .*Completed/);
      expect(live.output).toMatch(/Task runs: 9 Completed/);
    } finally {
      await stopProcess(runner);
    }
  });
});
