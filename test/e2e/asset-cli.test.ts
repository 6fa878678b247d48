/**
 * `baton asset ls|inspect|lineage` on a real pipeline run by `baton run`, on the database and
 * through a server (remote mode): the assets with their latest versions, an asset's versions,
 * lineage up from the model to the raw data and down from the raw data to the model, and
 * errors that say what to do.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabaseUrl } from "../support/databases.ts";
import { cli, ROOT, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/asset-flows.ts");

describe("baton asset", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;
  let remote: Record<string, string>;
  let server: Proc | undefined;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("sqlite");
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-asset-cli-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "silent" };
    for (let i = 0; i < 2; i++) {
      const ran = await cli(["run", FLOWS, "--flow", "pipeline"], env);
      expect(ran.code, ran.stderr).toBe(0);
    }
    const started = await startServerProcess(env);
    server = started.proc;
    remote = { BATON_HOME: home, BATON_API_URL: `${started.url}/api`, BATON_LOG_LEVEL: "silent" };
  }, 120_000);
  afterAll(async () => {
    if (server) await stopProcess(server);
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it.each(["direct", "remote"])("ls, inspect and lineage both ways (%s)", async (mode) => {
    const e = mode === "direct" ? env : remote;
    const ls = await cli(["asset", "ls", "--json"], e);
    expect(ls.code, ls.stderr).toBe(0);
    const assets = JSON.parse(ls.stdout) as { key: string; versions: number }[];
    // Run twice on the same data: one version each.
    expect(assets.map((a) => [a.key, a.versions]).sort()).toEqual([["dataset://features", 1], ["file://data/raw.csv", 1], ["model://toy", 1]]);
    const table = await cli(["asset", "ls"], e);
    expect(table.stdout).toMatch(/model:\/\/toy\s+│?\s*1\s+│?\s*v1/);

    const inspect = await cli(["asset", "inspect", "file://data/raw.csv"], e);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/file:\/\/data\/raw\.csv: 1 version/);
    expect(inspect.stdout).toMatch(/sha256:[0-9a-f]{12}…/);

    const up = await cli(["asset", "lineage", "model://toy"], e);
    expect(up.code, up.stderr).toBe(0);
    const lines = up.stdout.split("\n");
    expect(lines[0]).toMatch(/^model:\/\/toy @ v1/);
    expect(up.stdout).toMatch(/← task run fit-0 .*\(Completed\)/);
    expect(up.stdout).toMatch(/← dataset:\/\/features @ sha256:/);
    expect(up.stdout).toMatch(/← file:\/\/data\/raw\.csv @ sha256:.*\(5 rows\)/);

    const down = await cli(["asset", "lineage", "file://data/raw.csv", "--downstream", "--json"], e);
    expect(down.code, down.stderr).toBe(0);
    const graph = JSON.parse(down.stdout) as { nodes: { version: { key: string } | null }[] };
    expect(graph.nodes.flatMap((n) => (n.version ? [n.version.key] : [])).sort()).toEqual(["dataset://features", "file://data/raw.csv", "model://toy"]);
  });

  it("says what to do about an unknown asset or version, or a key that is not a URI", async () => {
    const none = await cli(["asset", "inspect", "dataset://nope"], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/asset dataset:\/\/nope has no versions; see baton asset ls/);
    const pinned = await cli(["asset", "lineage", "model://toy", "--at", "v1", "--depth", "1"], remote);
    expect(pinned.stdout).toMatch(/^model:\/\/toy @ v1/);
    const bad = await cli(["asset", "lineage", "features"], remote);
    expect(bad.stderr).toMatch(/asset key "features" is not a URI/);
    const version = await cli(["asset", "lineage", "model://toy", "--at", "v9"], remote);
    expect(version.stderr).toMatch(/asset model:\/\/toy has no version "v9"; see baton asset inspect model:\/\/toy/);
    const both = await cli(["asset", "lineage", "model://toy", "--upstream", "--downstream"], env);
    expect(both.stderr).toMatch(/give --upstream or --downstream, not both/);
  });
});
