/**
 * `baton experiment ls|runs|compare` on a real search run by `baton run`, on the database and
 * through a server (remote mode): the search's configurations as rows, sorted by a metric, side
 * by side with the differing parameter marked, and errors that say what to do.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabaseUrl } from "../support/databases.ts";
import { cli, ROOT, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/experiment-flows.ts");

describe("baton experiment", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;
  let remote: Record<string, string>;
  let server: Proc | undefined;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("sqlite");
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-exp-cli-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "silent" };
    const ran = await cli(["run", FLOWS, "--flow", "search"], env);
    expect(ran.code, ran.stderr).toBe(0);
    const started = await startServerProcess(env);
    server = started.proc;
    remote = { BATON_HOME: home, BATON_API_URL: `${started.url}/api`, BATON_LOG_LEVEL: "silent" };
  }, 120_000);
  afterAll(async () => {
    if (server) await stopProcess(server);
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it.each(["direct", "remote"])("ls, runs --sort and compare (%s)", async (mode) => {
    const e = mode === "direct" ? env : remote;
    const ls = await cli(["experiment", "ls"], e);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/cli-search\s+│?\s*3/);

    const runs = await cli(["experiment", "runs", "cli-search", "--sort", "-macroF1", "--json"], e);
    expect(runs.code, runs.stderr).toBe(0);
    const rows = JSON.parse(runs.stdout) as { runId: string; params: { depth: number }; metrics: Record<string, { last: number; steps: number }> }[];
    expect(rows.map((r) => r.params.depth)).toEqual([6, 4, 2]);
    expect(rows[0]!.metrics.loss).toMatchObject({ steps: 3, last: 1 / 8 });

    const table = await cli(["experiment", "runs", "cli-search"], e);
    expect(table.stdout).toMatch(/depth/);
    expect(table.stdout).toMatch(/macroF1/);

    const compare = await cli(["experiment", "compare", rows[0]!.runId, rows[2]!.runId], e);
    expect(compare.code, compare.stderr).toBe(0);
    expect(compare.stdout).toMatch(/\* param depth/);
    expect(compare.stdout).not.toMatch(/\* param criterion/);
    expect(compare.stdout).toMatch(/metric loss/);
  });

  it("says what to do about an unknown experiment, run or metric", async () => {
    const none = await cli(["experiment", "runs", "nope"], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/experiment "nope" has no runs; see baton experiment ls/);
    const sort = await cli(["experiment", "runs", "cli-search", "--sort", "auc"], env);
    expect(sort.stderr).toMatch(/--sort: no run logged the metric "auc"; metrics logged: loss, macroF1/);
    const limit = await cli(["experiment", "runs", "cli-search", "--limit", "0"], env);
    expect(limit.stderr).toMatch(/--limit must be an integer from 1 to 1000, got "0"/);
    const missing = await cli(["experiment", "compare", "0193aaaa-0000-7000-8000-000000000000"], remote);
    expect(missing.stderr).toMatch(/no such run logged parameters or metrics/);
  });
});
