/**
 * `baton usage` and pool prices on the command line, on SQLite and PostgreSQL and through a
 * server: a pool priced with `work-pool create`, changed with `work-pool update` (a negative price
 * refused naming its flag), runs with known resources, and the report as tables and as JSON.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { freshDatabaseUrl, type TestDialect } from "../support/databases.ts";
import { cli, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

const MODES = ["sqlite", "postgres", "server"] as const;
const H = 3_600_000;

describe.each(MODES)("baton usage (%s)", (mode) => {
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;
  let store: KyselyStore;
  let server: { proc: Proc; url: string } | undefined;

  const run = async (args: string[]) => {
    const res = await cli(args, env);
    expect(res.code, `baton ${args.join(" ")}: ${res.stderr}`).toBe(0);
    return res.stdout;
  };

  beforeAll(async () => {
    const dialect: TestDialect = mode === "postgres" ? "postgres" : "sqlite";
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-usage-cli-"));
    store = await openStore(db.url);
    env = { BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "warn" };
    if (mode === "server") {
      server = await startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: db.url });
      env = { BATON_HOME: home, BATON_API_URL: server.url, BATON_LOG_LEVEL: "warn" };
    }
  }, 120_000);
  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await store.close();
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("prices a pool, and reports its runs' compute and cost per day and group", async () => {
    expect(await run(["work-pool", "create", "gpu", "--cost-per-hour", "1", "--currency", "eur"])).toMatch(/prices 1 EUR\/h/);
    expect(await run(["work-pool", "update", "gpu", "--cost-per-cpu-hour", "0.5", "--cost-per-gpu-hour", "3", "--gpus", "2"])).toMatch(/prices 1 EUR\/h, 0\.5 EUR\/CPU h, 2 × 3 EUR\/GPU h/);
    // Refusals are the CLI's own, whatever the store: checked once.
    if (mode === "sqlite") {
      const refused = await cli(["work-pool", "update", "gpu", "--cost-per-hour", "-1"], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/--cost-per-hour must be a number >= 0/);
      const bad = await cli(["usage", "--by", "colour"], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/--by must be one of flow, deployment, pool, tag/);
    }

    // One run of half an hour and one CPU hour: 0.5 × 1 + 1 × 0.5 + 0.5 × 2 × 3 = 4 EUR.
    const id = newId();
    await store.createFlowRun({ id, flowName: "train", name: "r1", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: ["nightly"], version: null, workPool: "gpu", state: makeState("Pending") });
    await store.setFlowRunState(id, makeState("Running"));
    const resources = { wallMs: H / 2, cpuUserMs: H * 0.75, cpuSystemMs: H * 0.25, peakMemoryBytes: 3 * 1024 * 1024, retriedWallMs: 0, retriedCpuMs: 0 };
    await store.setFlowRunState(id, makeState("Completed"), { resources });

    const report = JSON.parse(await run(["usage", "--since", "1d", "--by", "pool", "--json"]));
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]).toMatchObject({ key: "gpu", runs: 1, byState: { Completed: 1 } });
    expect(report.groups[0].cost.EUR).toBeCloseTo(4, 9);
    const text = await run(["usage", "--by", "tag"]);
    expect(text).toMatch(/day \(UTC\)/);
    expect(text).toMatch(/│ nightly\s+│ 1\s+│ Completed 1\s+│ 0\.50\s+│ 1\.00\s+│ 4\.00 EUR/);
    expect(text).toMatch(/estimate/);
    const inspect = await run(["flow-run", "inspect", id]);
    expect(inspect).toMatch(/resources\s+wall 1800\.0 s, CPU 3600\.0 s \(user 2700\.0 s, system 900\.0 s\), peak 3\.0 MB/);
  }, 180_000);
});
