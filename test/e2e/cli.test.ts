/**
 * The `baton` commands people and scripts use, in local mode on SQLite and PostgreSQL:
 * config view (and where each setting came from), db upgrade and reset, flow ls, flow-run
 * logs/cancel/delete with --json, and run --json with a result JSON cannot hold as is.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startProcess } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/cli-flows.ts");

describe.each(e2eDialects("sqlite"))("baton CLI on %s", (dialect) => {
  let url: string;
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ url, cleanup } = await freshDatabaseUrl(dialect));
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "silent" };
  });
  afterAll(async () => {
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const seedRun = async (flowName: string) => {
    const store = await openStore(url);
    try {
      const run = await store.createFlowRun({ id: newId(), flowName, name: "seeded", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
      await store.applyWrites([{ kind: "log", log: { flowRunId: run.id, taskRunId: null, level: 40, message: "a warning", timestamp: Date.now() } }]);
      return run.id;
    } finally {
      await store.close();
    }
  };

  it("db upgrade migrates a fresh database and says so", async () => {
    const res = await cli(["db", "upgrade"], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Database .* is up to date/);
    const store = await openStore(url, { migrate: false });
    try {
      expect(await store.listFlows()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("config view shows each setting's value and source: env, config.toml or default", async () => {
    fs.writeFileSync(path.join(home, "config.toml"), "heartbeat_ms = 1234\nthreads = 9\n");
    const res = await cli(["config", "view", "--json"], { ...env, BATON_SERVER_BODY_LIMIT_BYTES: "4096", BATON_API_KEY: "sekret-key" });
    fs.rmSync(path.join(home, "config.toml"));
    expect(res.code, res.stderr).toBe(0);
    const view = JSON.parse(res.stdout) as { configFile: string; settings: { name: string; value: string; source: string; configKey: string | null }[] };
    const byName = Object.fromEntries(view.settings.map((s) => [s.name, s]));
    expect(view.configFile).toBe(path.join(home, "config.toml"));
    expect(byName.heartbeatMs).toMatchObject({ value: "1234", source: "config" });
    expect(byName.serverBodyLimitBytes).toMatchObject({ value: "4096", source: "env" });
    expect(byName.databaseUrl).toMatchObject({ source: "env" });
    expect(byName.inlineResultBytes).toMatchObject({ value: "65536", source: "default" });
    expect(byName.apiKey).toMatchObject({ value: "********", source: "env" });
    expect(byName.threads).toMatchObject({ source: "default", configKey: null });
    const table = await cli(["config", "view"], env);
    expect(table.stdout).toMatch(/serverLogLevel\s*│ BATON_SERVER_LOG_LEVEL/);
  });

  it("flow ls lists flows, as a table and as JSON", async () => {
    await seedRun("listed-flow");
    const json = await cli(["flow", "ls", "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).map((f: { name: string }) => f.name)).toContain("listed-flow");
    expect((await cli(["flow", "ls"], env)).stdout).toMatch(/listed-flow/);
  });

  it("flow-run logs, cancel and delete print JSON for scripts", async () => {
    const id = await seedRun("ops-flow");
    const logs = await cli(["flow-run", "logs", id, "--json", "--level", "warn"], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(JSON.parse(logs.stdout)).toMatchObject([{ flowRunId: id, level: 40, message: "a warning" }]);
    const cancel = await cli(["flow-run", "cancel", id, "--json"], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id, state: { name: "Cancelled" } });
    const del = await cli(["flow-run", "delete", id, "--json"], env);
    expect(JSON.parse(del.stdout)).toEqual({ deleted: id });
    const again = await cli(["flow-run", "delete", id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`flow run ${id} was not found`));
  });

  it("run --json prints a result holding BigInts, Maps and Sets", async () => {
    const res = await cli(["run", FLOWS, "--flow", "bigResult", "--json"], env);
    expect(res.code, res.stderr).toBe(0);
    const outcome = JSON.parse(res.stdout);
    expect(outcome).toMatchObject({ state: { name: "Completed" }, result: { value: (2n ** 70n).toString(), byName: { a: "1" }, tags: ["x"] }, taskRuns: 1 });
  });

  it("output piped into a reader that stops early (| head) ends quietly, without an EPIPE stack trace", async () => {
    const id = await seedRun("piped-flow");
    for (const args of [["task-run", "ls", "--flow-run", id], ["flow-run", "inspect", id], ["flow-run", "ls"], ["flow-run", "inspect", id, "--json"]]) {
      const proc = startProcess([BIN, ...args], env);
      // The reader is gone before the first write: that write fails with EPIPE.
      proc.child.stdout!.destroy();
      const code = await proc.exit;
      expect(proc.stderr(), args.join(" ")).not.toMatch(/EPIPE|Error/);
      expect(code, args.join(" ")).toBe(0);
    }
  });

  it("db reset asks for --yes, then deletes Baton's data only", async () => {
    const refused = await cli(["db", "reset"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(dialect === "sqlite" ? /result files in .*pass --yes to confirm/ : /Baton's tables in .*pass --yes to confirm/);
    await seedRun("doomed-flow");
    const resultsDir = path.join(home, "results");
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, "r.json"), "[1]");
    let other: pg.Client | null = null;
    if (dialect === "postgres") {
      other = new pg.Client(url);
      await other.connect();
      await other.query("create table not_batons (x int)");
      await other.query("insert into not_batons values (1)");
    }
    try {
      const reset = await cli(["db", "reset", "--yes"], env);
      expect(reset.code, reset.stderr).toBe(0);
      const store = await openStore(url);
      try {
        expect(await store.listFlows()).toEqual([]);
      } finally {
        await store.close();
      }
      if (other) expect((await other.query("select x from not_batons")).rows).toEqual([{ x: 1 }]);
      // Result files live beside an SQLite database; PostgreSQL's may be on many machines.
      expect(fs.existsSync(resultsDir)).toBe(dialect === "postgres");
    } finally {
      await other?.end();
    }
  });
});
