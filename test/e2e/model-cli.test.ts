/**
 * `baton model ls|inspect|promote|rollback` on versions a real `baton run` registered, on the
 * database and through a server (remote mode): thresholds judged, a refusal recorded and said
 * (exit code 2), rollback walking back, and errors that say what to do.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabaseUrl } from "../support/databases.ts";
import { cli, ROOT, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/model-flows.ts");

describe("baton model", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;
  let remote: Record<string, string>;
  let server: Proc | undefined;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("sqlite");
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-model-cli-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "silent" };
    const ran = await cli(["run", FLOWS, "--flow", "train", "--param", "f1s=[0.7,0.6,0.8]"], env);
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

  it("ls, promote through thresholds, a refusal, inspect and rollback, on the database then through the server", async () => {
    const ls = await cli(["model", "ls"], env);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/cli-clf\s+│?\s*v3/);

    const first = await cli(["model", "promote", "cli-clf", "1", "--min", "macroF1=0.5"], env);
    expect(first.stdout, first.stderr).toMatch(/Promoted cli-clf v1 to production \(was unset\)/);
    const refused = await cli(["model", "promote", "cli-clf", "2", "--better-than-current", "macroF1"], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/Refused: macroF1 0.6 is not better than version 1's 0.7/);
    // Through the server: its own judgement of the same thresholds.
    const third = await cli(["model", "promote", "cli-clf", "3", "--better-than-current", "loss", "--lower-is-better", "--json"], remote);
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toEqual({ promoted: true, from: 1, to: 3 });

    const inspect = await cli(["model", "inspect", "cli-clf"], remote);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/aliases: production → v3/);
    expect(inspect.stdout).toMatch(/macroF1/);
    expect(inspect.stdout).toMatch(/refused/);
    const json = JSON.parse((await cli(["model", "inspect", "cli-clf", "--json"], env)).stdout);
    // The server's move is the caller's (an open server's admin); the database's, this user's.
    expect(json.moves.map((m: { kind: string; actor: { kind: string } }) => `${m.kind}:${m.actor.kind}`).slice(1)).toEqual(["refused:cli", "promoted:cli"]);
    expect(json.moves[0]).toMatchObject({ kind: "promoted", from: 1, to: 3 });
    expect(json.versions[2]).toMatchObject({ version: 1, params: { depth: 4 }, flowRunId: expect.any(String) });

    const back = await cli(["model", "rollback", "cli-clf"], remote);
    expect(back.stdout, back.stderr).toMatch(/Rolled cli-clf production back from v3 to v1/);
    const none = await cli(["model", "rollback", "cli-clf"], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/nothing to roll back to: .*pointed to no version before its first promotion/);
  });

  it("says what to do about an unknown model or version, and bad options", async () => {
    const unknown = await cli(["model", "inspect", "nope"], env);
    expect(unknown.stderr).toMatch(/model "nope" does not exist/);
    const version = await cli(["model", "promote", "cli-clf", "9", "--force"], remote);
    expect(version.stderr).toMatch(/model "cli-clf" has no version 9 \(its versions are 1 to 3\)/);
    const noGate = await cli(["model", "promote", "cli-clf", "1"], env);
    expect(noGate.stderr).toMatch(/give thresholds .* or --force/);
    const badMin = await cli(["model", "promote", "cli-clf", "1", "--min", "f1"], env);
    expect(badMin.stderr).toMatch(/--min takes METRIC=NUMBER/);
    const missing = await cli(["model", "promote", "cli-clf", "2", "--min", "auc=0.5"], env);
    expect(missing.stderr).toMatch(/model "cli-clf" version 2 has no metric "auc"/);
  });
});
