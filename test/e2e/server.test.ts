/**
 * End to end: the real server (`baton server start`) on a free port over SQLite and
 * PostgreSQL, flows run in remote mode from child processes (`baton run` with BATON_API_URL),
 * checked through the API and the CLI; cancellation and a server outage mid-flow.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startProcess, startServerProcess, until, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/remote-flows.ts");

function start(args: string[], env: Record<string, string>): Proc {
  return startProcess([BIN, ...args], { BATON_LOG_LEVEL: "info", ...env });
}

function startServer(databaseUrl: string, port = 0): Promise<{ proc: Proc; url: string }> {
  return startServerProcess({ BATON_DATABASE_URL: databaseUrl, BATON_LOG_LEVEL: "info" }, [], port);
}

describe.each(e2eDialects("sqlite"))("server end to end on %s", (dialect) => {
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  let server: { proc: Proc; url: string };
  let env: Record<string, string>;
  let home: string;

  const api = async (pathAndQuery: string, init?: RequestInit) => {
    const response = await fetch(`${server.url}${pathAndQuery}`, init);
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    databaseUrl = db.url;
    cleanup = db.cleanup;
    server = await startServer(databaseUrl);
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-e2e-"));
    // BATON_HOME points at an empty home: the client must not touch a local database.
    env = { BATON_API_URL: `${server.url}/api`, BATON_HOME: home, BATON_HEARTBEAT_MS: "200" };
  });

  afterAll(async () => {
    server.proc.child.kill("SIGTERM");
    await server.proc.exit;
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("runs a flow in remote mode: runs, task runs, retries, failures and logs land in the server", async () => {
    const run = await cli(["run", FLOWS, "--flow", "mixed", "--param", "label=x"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ended Completed/);
    expect(fs.existsSync(path.join(home, "baton.db"))).toBe(false);

    const list = await api("/api/flow-runs?flow=mixed");
    expect(list.body.items).toHaveLength(1);
    const flowRun = list.body.items[0];
    expect(flowRun).toMatchObject({ state: { name: "Completed" }, parameters: { label: "x" }, runCount: 1 });
    expect(flowRun.entrypoint).toBe(`${FLOWS}:mixed`);
    const tasks = (await api(`/api/flow-runs/${flowRun.id}/task-runs`)).body.items;
    const byKey = Object.fromEntries(tasks.map((t: any) => [t.taskKey, t]));
    expect(byKey["flaky-0"]).toMatchObject({ state: { name: "Completed" }, runCount: 2 });
    expect(byKey["boom-0"]).toMatchObject({ state: { name: "Failed" }, error: { name: "NonRetryableError", message: "boom: bad input" } });
    const flakyStates = (await api(`/api/task-runs/${byKey["flaky-0"].id}/states`)).body.map((s: any) => s.name);
    expect(flakyStates).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
    const logs = (await api(`/api/logs?flowRunId=${flowRun.id}`)).body.items.map((l: any) => l.message);
    expect(logs).toEqual(expect.arrayContaining(["starting mixed flow", "flaky x succeeded on attempt 2"]));

    // The CLI reads the same through the API.
    const ls = await cli(["flow-run", "ls", "--json", "--flow", "mixed"], env);
    expect(JSON.parse(ls.stdout).map((r: any) => r.id)).toEqual([flowRun.id]);
    const inspect = await cli(["flow-run", "inspect", flowRun.id], env);
    expect(inspect.stdout).toMatch(/flaky-0 .*Completed/);
    expect(inspect.stdout).toMatch(/boom-0 .*Failed/);
    const logsCli = await cli(["flow-run", "logs", flowRun.id, "--level", "info"], env);
    expect(logsCli.stdout).toMatch(/flaky-0 - flaky x succeeded on attempt 2/);
    const taskLs = await cli(["task-run", "ls", "--flow-run", flowRun.id, "--json"], env);
    expect(JSON.parse(taskLs.stdout)).toHaveLength(2);
    const missing = await cli(["flow-run", "inspect", "no-such-run"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/flow run no-such-run was not found/);
  });

  it("resumes a failed run with `baton flow-run retry`: finished tasks are not run again", async () => {
    const log = path.join(home, "resume.log");
    const fail = path.join(home, "resume.fail");
    fs.writeFileSync(fail, "");
    const first = await cli(["run", FLOWS, "--flow", "resumable"], { ...env, E2E_LOG: log, E2E_FAIL: fail });
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/ended Failed/);
    const id = (await api("/api/flow-runs?flow=resumable")).body.items[0].id as string;
    fs.rmSync(fail);
    const retry = await cli(["flow-run", "retry", id], { ...env, E2E_LOG: log, E2E_FAIL: fail });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/ended Completed/);
    expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual(["step0", "step1", "step2", "step2"]);
    const run = (await api(`/api/flow-runs/${id}`)).body;
    expect(run).toMatchObject({ state: { name: "Completed" }, runCount: 2 });
  });

  it("runs a deployment through the server: a worker in remote mode claims it, runs it, and a bad parameter is refused", async () => {
    const pool = await cli(["work-pool", "create", "e2e-pool"], env);
    expect(pool.code, pool.stderr).toBe(0);
    const created = await api("/api/deployments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "e2e-slow",
        flowName: "slow",
        entrypoint: `${FLOWS}:slow`,
        workPool: "e2e-pool",
        parameters: { count: 2, ms: 10 },
        parameterSchema: { type: "object", properties: { count: { type: "integer", minimum: 1 }, ms: { type: "integer" } }, required: ["count", "ms"] },
      }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const bad = await cli(["deployment", "run", "e2e-slow", "--param", "count=0"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/parameters\.count must be >= 1/);
    const worker = start(["worker", "start", "--pool", "e2e-pool", "--poll-ms", "200"], env);
    const run = await cli(["deployment", "run", "e2e-slow", "--param", "count=3", "--watch"], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/Flow run ended Completed/);
    const runs = (await api("/api/flow-runs?flow=slow&state=Completed")).body.items.filter((r: any) => r.deploymentId === created.body.id);
    expect(runs[0]).toMatchObject({ parameters: { count: 3, ms: 10 }, workPool: "e2e-pool" });
    expect((await api(`/api/flow-runs/${runs[0].id}/task-runs`)).body.items).toHaveLength(3);
    worker.child.kill("SIGTERM");
    await worker.exit;
  });

  it("cancels a running flow from the CLI: its process stops and the run ends Cancelled", async () => {
    const running = start(["run", FLOWS, "--flow", "slow", "--params-json", '{"count": 300, "ms": 100}'], env);
    const id = await until(async () => (await api("/api/flow-runs?flow=slow&state=Running")).body.items[0]?.id as string | undefined, "the slow run to start");
    const watch = start(["flow-run", "watch", id], env);
    await until(() => watch.stdout().includes("Watching"), "the watch to subscribe");
    await until(async () => (await api(`/api/flow-runs/${id}/task-runs`)).body.items.length >= 2, "two tasks");
    const cancel = await cli(["flow-run", "cancel", id], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/is Cancelling/);
    expect(await running.exit).toBe(1);
    const run = (await api(`/api/flow-runs/${id}`)).body;
    expect(run.state.name).toBe("Cancelled");
    const tasks = (await api(`/api/flow-runs/${id}/task-runs`)).body.items;
    expect(tasks.length).toBeLessThan(300);
    expect(await watch.exit).toBe(1);
    expect(watch.stdout()).toMatch(/flow run -> Cancelling/);
    expect(watch.stdout()).toMatch(/Flow run ended Cancelled/);
  });

  it("rides out a server outage mid-flow: writes are buffered and retried, nothing is lost or doubled", async () => {
    const log = path.join(home, "outage.log");
    const running = start(["run", FLOWS, "--flow", "slow", "--params-json", '{"count": 12, "ms": 150}'], { ...env, E2E_LOG: log });
    const id = await until(async () => (await api("/api/flow-runs?flow=slow&state=Running")).body.items[0]?.id as string | undefined, "the run to start");
    await until(async () => (await api(`/api/flow-runs/${id}/task-runs`)).body.items.filter((t: any) => t.state.name === "Completed").length >= 2, "two tasks");
    const port = new URL(server.url).port;
    server.proc.child.kill("SIGKILL");
    await server.proc.exit;
    await new Promise((r) => setTimeout(r, 1500));
    server = await startServer(databaseUrl, Number(port));
    expect(await running.exit, running.stderr()).toBe(0);
    const run = (await api(`/api/flow-runs/${id}`)).body;
    expect(run.state.name).toBe("Completed");
    const tasks = (await api(`/api/flow-runs/${id}/task-runs`)).body.items;
    expect(tasks).toHaveLength(12);
    expect(tasks.every((t: any) => t.state.name === "Completed" && t.runCount === 1)).toBe(true);
    expect(fs.readFileSync(log, "utf8").trim().split("\n")).toHaveLength(12);
    const states = (await api(`/api/task-runs/${tasks[5].id}/states`)).body.map((s: any) => s.name);
    expect(states).toEqual(["Pending", "Running", "Completed"]);
  });
});
