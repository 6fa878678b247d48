/**
 * Every state change goes through the transition primitive (src/store/transitions/): it decides
 * by the rules, writes the history and the event, and runs the reactions. This test fails when
 * code anywhere else writes a state column or a state-history row, so no new writer can skip them.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");
const ALLOWED = [path.join(SRC, "store/transitions") + path.sep, path.join(SRC, "store/migrations") + path.sep, path.join(SRC, "store/schema.ts")];

/** What writing a state looks like: a state column given a value, a row added to the history. */
const WRITES: { what: string; pattern: RegExp }[] = [
  { what: "a state column given a value", pattern: /\bstate_(type|name|message|timestamp)\s*:(?!\s*(string|number)\b)/ },
  { what: "a row inserted into the state history", pattern: /insertInto\(\s*["']states["']\s*\)|\binsert\s+into\s+states\b/i },
  { what: "SQL that sets a state column", pattern: /\bupdate\s+(flow_runs|task_runs)\s+set\b[^;`]*\bstate_/i },
];

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return files(full);
    return /\.(ts|tsx|mjs)$/.test(e.name) ? [full] : [];
  });
}

describe("state writers", () => {
  it("only the transition primitive writes states", () => {
    const offenders: string[] = [];
    for (const file of files(SRC)) {
      if (ALLOWED.some((allowed) => file.startsWith(allowed) || file === allowed)) continue;
      fs.readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          for (const { what, pattern } of WRITES) if (pattern.test(line)) offenders.push(`${path.relative(SRC, file)}:${i + 1}: ${what}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it("recognises each kind of write (the check itself works)", () => {
    const samples = [
      `await tx.updateTable("flow_runs").set({ state_type: "CRASHED", state_name: "Crashed" })`,
      `await tx.insertInto("states").values(rows)`,
      "update task_runs set end_time = ?, state_name = 'Crashed' where id = ?",
      "insert into states (flow_run_id) values (?)",
    ];
    for (const sample of samples) expect(WRITES.some(({ pattern }) => pattern.test(sample)), sample).toBe(true);
    // Reading a state is not writing one.
    for (const read of [`.where("state_type", "=", "SCHEDULED")`, "state_type: string;", "select id from flow_runs where state_type = 'SCHEDULED'"])
      expect(WRITES.some(({ pattern }) => pattern.test(read)), read).toBe(false);
  });
});
