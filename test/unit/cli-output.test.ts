/**
 * The CLI's pure parts: the live progress block of `baton run` (rendered from a model, redrawn
 * in place), the tallies it is drawn from, the shared list options (`--state` in any case and
 * by type, `--limit`), durations and instants, tables without row rules, and the server's
 * request log (level per request, the pretty line format).
 */
import { describe, expect, it } from "vitest";
import { bar, eraseBlock, MAX_TASK_LINES, renderProgress, TaskTallies, type TaskTally } from "../../src/cli/live-view.ts";
import { parseLimit, parseStateFilter, tagList } from "../../src/cli/list-options.ts";
import { parseDuration, parseInstant } from "../../src/cli/option-values.ts";
import { table } from "../../src/cli/format.ts";
import { cut } from "../../src/cli/result-preview.ts";
import { requestLogLevel } from "../../src/server/request-log.ts";
import { prettyLogLine } from "../../src/server/log-format.ts";

const tally = (total: number, done: number, failed = 0, running = 0): TaskTally => ({ total, done, failed, running });

describe("the progress block of baton run", () => {
  it("shows each task name's done/total with a bar, the totals and the dashboard link", () => {
    const lines = renderProgress(
      { flowName: "train", tasks: new Map([["load", tally(1, 1)], ["fit", tally(2000, 500, 3, 8)]]), elapsedMs: 12_345, link: "http://127.0.0.1:4200/runs/abc", frame: 0 },
      120,
    );
    expect(lines[0]).toBe("⠋ train · 12.3 s · 501/2,001 task runs done · 3 failed");
    // Unfinished tasks first.
    expect(lines[1]).toBe(`  fit  ${"█".repeat(5)}${"░".repeat(15)} 500/2,000  8 running, 3 failed`);
    expect(lines[2]).toBe(`  load ${"█".repeat(20)}       1/1`);
    expect(lines[3]).toBe("  http://127.0.0.1:4200/runs/abc");
  });

  it("sums the task names past the ones it has room for on one line", () => {
    const tasks = new Map(Array.from({ length: 12 }, (_, i) => [`task${i}`, tally(10, i < 6 ? 10 : 4)] as const));
    const lines = renderProgress({ flowName: "f", tasks, elapsedMs: 0, link: null, frame: 1 }, 120);
    expect(lines).toHaveLength(1 + MAX_TASK_LINES);
    expect(lines.slice(1, 7).every((l) => l.includes("4/10"))).toBe(true); // the six unfinished ones first
    expect(lines.at(-1)).toBe("  … 5 more tasks: 50/50 done");
  });

  it("never draws a line as wide as the terminal (a wrapped line would break the redraw)", () => {
    const lines = renderProgress({ flowName: "a-flow-with-a-very-long-name", tasks: new Map([["x".repeat(80), tally(3, 1)]]), elapsedMs: 0, link: "http://h/runs/" + "9".repeat(80), frame: 0 }, 40);
    for (const line of lines) expect(line.length).toBeLessThan(40);
    expect(lines[0]!.endsWith("…")).toBe(true);
  });

  it("bars fill in proportion and erase moves up over the block drawn last", () => {
    expect(bar(0, 10, 10)).toBe("░".repeat(10));
    expect(bar(10, 10, 10)).toBe("█".repeat(10));
    expect(bar(0, 0, 4)).toBe("░░░░");
    expect(eraseBlock(0)).toBe("");
    expect(eraseBlock(1)).toBe("\r\u001b[J");
    expect(eraseBlock(4)).toBe("\r\u001b[3A\u001b[J");
  });

  it("tallies count each task run once and say when one has just ended", () => {
    const t = new TaskTallies();
    expect(t.apply("a", "fit", "PENDING")).toBe(false);
    expect(t.apply("a", "fit", "RUNNING")).toBe(false);
    expect(t.tasks.get("fit")).toEqual(tally(1, 0, 0, 1));
    expect(t.apply("a", "fit", "FAILED")).toBe(true);
    expect(t.apply("a", "fit", "FAILED")).toBe(false); // the same state again
    expect(t.apply("b", "fit", "COMPLETED")).toBe(true);
    expect(t.tasks.get("fit")).toEqual(tally(2, 2, 1, 0));
    // A retry takes a failed run back: it is no longer done nor failed.
    expect(t.apply("a", "fit", "SCHEDULED")).toBe(false);
    expect(t.tasks.get("fit")).toEqual(tally(2, 1, 0, 0));
  });
});

describe("list options", () => {
  it("--state takes names and types in any case, a type standing for its names", () => {
    expect(parseStateFilter("failed").sort()).toEqual(["Failed", "TimedOut"]);
    expect(parseStateFilter("Late,crashed").sort()).toEqual(["Crashed", "Late"]);
    expect(parseStateFilter("SCHEDULED").sort()).toEqual(["AwaitingRetry", "Late", "Scheduled"]);
    expect(parseStateFilter("awaitingretry")).toEqual(["AwaitingRetry"]);
    expect(() => parseStateFilter("broken")).toThrow(/--state: unknown state "broken"; give state types \(scheduled, .*\) or names/);
    expect(() => parseStateFilter(",")).toThrow(/--state: give at least one state/);
  });

  it("--limit is an integer in range and --tag splits commas", () => {
    expect(parseLimit("20", 500)).toBe(20);
    for (const bad of ["0", "501", "2.5", "x"]) expect(() => parseLimit(bad, 500)).toThrow(`--limit must be an integer from 1 to 500, got "${bad}"`);
    expect(tagList(["a,b", " c "])).toEqual(["a", "b", "c"]);
  });

  it("durations and instants name the flag when they cannot be read", () => {
    expect(parseDuration("10m", "--start-in")).toBe(600_000);
    expect(parseDuration("1h30m", "--start-in")).toBe(5_400_000);
    expect(parseDuration("90s", "--x")).toBe(90_000);
    expect(parseDuration("2d", "--x")).toBe(172_800_000);
    for (const bad of ["10", "ten minutes", "10m x", ""]) expect(() => parseDuration(bad, "--start-in")).toThrow(/--start-in must be a duration such as 90s, 10m, 1h30m or 2d/);
    expect(parseInstant("2026-12-24T08:00Z", "--start-at")).toBe(Date.UTC(2026, 11, 24, 8));
    expect(() => parseInstant("tomorrow", "--start-at")).toThrow(/--start-at must be an ISO date-time/);
  });
});

describe("tables and previews", () => {
  it("draws a rule under the header and none between rows", () => {
    const lines = table(["a", "b"], [["1", "2"], ["3", "4"], ["5", "6"]]).split("\n");
    expect(lines).toEqual(["┌───┬───┐", "│ a │ b │", "├───┼───┤", "│ 1 │ 2 │", "│ 3 │ 4 │", "│ 5 │ 6 │", "└───┴───┘"]);
  });

  it("says when it cuts a preview, by how much and where to see it all", () => {
    expect(cut("short", 10, "see X")).toBe("short");
    expect(cut("x".repeat(25), 10, "see X")).toBe(`${"x".repeat(10)}…\n(truncated: 15 more characters; see X)`);
  });
});

describe("the server's request log", () => {
  it("logs writes and errors at info, failures at error, and successful reads at debug only", () => {
    expect(requestLogLevel("GET", 200)).toBe("debug");
    expect(requestLogLevel("HEAD", 304)).toBe("debug");
    expect(requestLogLevel("POST", 201)).toBe("info");
    expect(requestLogLevel("DELETE", 204)).toBe("info");
    expect(requestLogLevel("GET", 404)).toBe("info");
    expect(requestLogLevel("POST", 500)).toBe("error");
  });

  it("prints pino's JSON lines as one readable line, other fields as key=value", () => {
    const time = Date.UTC(2026, 11, 3, 14, 2, 11, 532);
    expect(prettyLogLine(JSON.stringify({ level: 30, time, pid: 1, hostname: "h", reqId: "req-1", method: "POST", url: "/api/x", status: 201, ms: 4, msg: "POST /api/x 201 4 ms" }))).toBe(
      "14:02:11.532 INFO  POST /api/x 201 4 ms",
    );
    expect(prettyLogLine(JSON.stringify({ level: 40, time, msg: "slow", what: "a b", n: 3 }))).toBe('14:02:11.532 WARN  slow  what="a b" n=3');
    expect(prettyLogLine(JSON.stringify({ level: 50, time, msg: "failed", err: { message: "boom", stack: "Error: boom\n    at x" } }))).toBe("14:02:11.532 ERROR failed\nError: boom\n    at x");
    expect(prettyLogLine("not json\n")).toBe("not json");
  });
});
