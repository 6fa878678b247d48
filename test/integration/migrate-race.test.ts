/** Processes opening a new SQLite database at once: the migrations run once, none fails. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, startProcess } from "../support/processes.ts";

describe("migrations on a new SQLite database", () => {
  it("run once when several processes open it at the same moment", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-migrate-"));
    try {
      const env = { BATON_HOME: dir, BATON_LOG_LEVEL: "warn" };
      const procs = Array.from({ length: 4 }, () => startProcess([BIN, "flow-run", "ls"], env));
      const results = await Promise.all(procs.map(async (p) => ({ code: await p.exit, stderr: p.stderr() })));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
