/**
 * The CLI's listing, naming and operating commands, embedded (SQLite, PostgreSQL) and against a
 * server (BATON_API_URL): runs named by id, id prefix or name (an ambiguous one refused with
 * the candidates), `ls` filters (state types in any case, tag, deployment, task) with `--limit`
 * and its note, `inspect` with artifacts and a result it says it cut, task-run inspect and logs
 * by task key, work queues, workers, a deployment's schedules one by one, and deployment runs
 * due later.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { freshDatabaseUrl, FULL, type TestDialect } from "../support/databases.ts";
import { cli, ROOT, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/cli-flows.ts");
/** The CLI on the embedded database and through a server; directly on PostgreSQL too in the full suite (its queries are the store tests'). */
const MODES = FULL ? (["sqlite", "postgres", "server"] as const) : (["sqlite", "server"] as const);
/** Each test runs the CLI ten times or more, a process each. */
const SLOW = 300_000;

/** Two runs sharing an id prefix and a name (UUIDv7s made in the same minute share their first 8 characters too). */
const TWINS = ["0000aaaa-0000-7000-8000-000000000001", "0000aaaa-0000-7000-8000-000000000002"];

describe.each(MODES)("baton CLI commands (%s)", (mode) => {
  let url: string;
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let server: { proc: Proc; url: string } | undefined;
  let fanOut: { id: string; name: string };
  let failed: { id: string; name: string };

  const run = async (args: string[]) => {
    const res = await cli(args, env);
    expect(res.code, `baton ${args.join(" ")}: ${res.stderr}`).toBe(0);
    return res;
  };
  const refused = async (args: string[]) => {
    const res = await cli(args, env);
    expect(res.code, `baton ${args.join(" ")} should fail: ${res.stdout}`).toBe(1);
    return res.stderr;
  };

  beforeAll(async () => {
    const dialect: TestDialect = mode === "postgres" ? "postgres" : "sqlite";
    ({ url, cleanup } = await freshDatabaseUrl(dialect));
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-commands-"));
    store = await openStore(url);
    orchestration = new KyselyOrchestrationStore(store);
    env = { BATON_HOME: home, BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "warn" };
    if (mode === "server") {
      server = await startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: url });
      env = { BATON_HOME: home, BATON_API_URL: server.url, BATON_LOG_LEVEL: "warn" };
    }
    const first = JSON.parse((await run(["run", FLOWS, "--flow", "fanOut", "--json"])).stdout) as { id: string; name: string };
    fanOut = { id: first.id, name: first.name };
    const second = await cli(["run", FLOWS, "--flow", "failing", "--json"], env);
    expect(second.code).toBe(1);
    const f = JSON.parse(second.stdout) as { id: string; name: string };
    failed = { id: f.id, name: f.name };
    for (const id of TWINS)
      await store.createFlowRun({ id, flowName: "twins", name: "twin-run", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    await orchestration.upsertWorkPool({ name: "cli-pool" });
    await orchestration.upsertWorkQueue({ poolName: "cli-pool", name: "urgent", priority: 1, concurrencyLimit: 3 });
  }, 120_000);
  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await store?.close();
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  }, SLOW);

  it("names a run by id, id prefix or name, and refuses an ambiguous one listing the candidates", async () => {
    for (const ref of [fanOut.id, fanOut.id.slice(0, 23), fanOut.name]) {
      const res = await run(["flow-run", "inspect", ref, "--json"]);
      expect(JSON.parse(res.stdout).id, ref).toBe(fanOut.id);
    }
    for (const ref of ["0000aaaa", "twin-run"]) {
      const stderr = await refused(["flow-run", "inspect", ref]);
      expect(stderr).toMatch(new RegExp(`"${ref}" names 2 flow runs: \\S+ \\(twin-run\\), \\S+ \\(twin-run\\); give more of the id, or the whole id`));
      for (const id of TWINS) expect(stderr).toContain(`${id} (twin-run)`);
    }
    expect(await refused(["flow-run", "logs", "no-such-run"])).toMatch(/flow run no-such-run was not found/);
    const logs = await run(["flow-run", "logs", fanOut.name, "--level", "info"]);
    expect(logs.stdout).toMatch(/total-0 - adding 60 squares/);
  }, SLOW);

  it("flow-run ls filters by state type or name in any case, tag and flow, with --limit and a note when more match", async () => {
    const ids = async (args: string[]) => (JSON.parse((await run(["flow-run", "ls", "--json", ...args])).stdout) as { id: string }[]).map((r) => r.id);
    expect(await ids(["--state", "failed"])).toEqual([failed.id]);
    expect(await ids(["--state", "FAILED"])).toEqual([failed.id]);
    expect(await ids(["--state", "completed,pending"])).toEqual(expect.arrayContaining([fanOut.id, ...TWINS]));
    expect(await ids(["--tag", "nightly"])).toEqual([fanOut.id]);
    expect(await ids(["--flow", "twins"])).toHaveLength(2);
    expect(await refused(["flow-run", "ls", "--state", "borked"])).toMatch(/--state: unknown state "borked"/);
    const limited = await run(["flow-run", "ls", "--limit", "2"]);
    expect(limited.stdout.split("\n").filter((l) => l.startsWith("│ ")).length).toBe(3); // header and two runs
    expect(limited.stdout).not.toMatch(/├.*\n│.*\n├/); // no rule between rows
    expect(limited.stderr).toMatch(/Showing the first 2 flow runs; more match: use --limit \(up to 500\)/);
  }, SLOW);

  it("inspect shows the task runs it lists, the artifacts and the result, and says what it cut", async () => {
    const res = await run(["flow-run", "inspect", fanOut.name]);
    expect(res.stdout).toMatch(/Task runs: 61 Completed/);
    expect(res.stdout).toMatch(new RegExp(`\\(showing 50 of 61 task runs, unfinished first; all of them: baton task-run ls --flow-run ${fanOut.id} --limit 61\\)`));
    expect(res.stdout).toMatch(/Artifacts \(2\)\n/);
    expect(res.stdout).toMatch(/^ {2}markdown squares-report - the report: # Squares$/m);
    expect(res.stdout).toMatch(/^ {2}table {4}squares-table: 1 rows$/m);
    expect(res.stdout).toMatch(/Result\n\{\n {2}"n": 60,\n {2}"sum": 70210,/);
    expect(res.stdout).toMatch(new RegExp(`\\(truncated: [\\d,]+ more characters; the whole result: baton flow-run inspect ${fanOut.id} --json\\)`));
    const json = JSON.parse((await run(["flow-run", "inspect", fanOut.id, "--json"])).stdout);
    expect(json.result.long).toHaveLength(3000);
    expect(json.artifacts.map((a: { key: string }) => a.key).sort()).toEqual(["squares-report", "squares-table"]);
  }, SLOW);

  it("task-run ls takes --limit (with a note), --state and --task; inspect and logs name a task run by key within its flow run, or by id prefix alone", async () => {
    const limited = await run(["task-run", "ls", "--flow-run", fanOut.name, "--limit", "5"]);
    expect(limited.stdout.split("\n").filter((l) => / square-\d+ /.test(l))).toHaveLength(5);
    expect(limited.stderr).toMatch(/Showing 5 of 61 task runs: use --limit/);
    const byTask = JSON.parse((await run(["task-run", "ls", "--flow-run", fanOut.id, "--task", "total", "--state", "COMPLETED", "--json"])).stdout);
    expect(byTask.map((t: { taskKey: string }) => t.taskKey)).toEqual(["total-0"]);
    const taskRunId = byTask[0].id as string;

    const inspect = await run(["task-run", "inspect", "total-0", "--flow-run", fanOut.id.slice(0, 30)]);
    expect(inspect.stdout).toMatch(new RegExp(`Task run total-0 \\(${taskRunId}\\)\\n {2}flow run {4}${fanOut.name} \\(${fanOut.id}\\)`));
    expect(inspect.stdout).toMatch(/Result\n70210/);
    expect(JSON.parse((await run(["task-run", "inspect", taskRunId, "--json"])).stdout)).toMatchObject({ id: taskRunId, result: 70210, history: expect.any(Array) });
    expect(await refused(["task-run", "inspect", "total-0"])).toMatch(/task run total-0 was not found; to name a task run by its task key \(fit-3\), give its flow run too \(--flow-run RUN\)/);
    // A unique id prefix names a task run among all runs, without its flow run.
    expect((await run(["task-run", "inspect", taskRunId.slice(0, 30)])).stdout).toMatch(new RegExp(`Task run total-0 \\(${taskRunId}\\)`));
    expect(await refused(["task-run", "inspect", "ffff-ffff"])).toMatch(/task run "?ffff-ffff"? was not found/);
    expect(await refused(["task-run", "inspect", "square-1234", "--flow-run", fanOut.id])).toMatch(/task run square-1234 was not found/);

    const logs = await run(["task-run", "logs", "total-0", "--flow-run", fanOut.name]);
    expect(logs.stdout.trim()).toMatch(/^\S+ \S+ \| INFO {5}\| total-0 - adding 60 squares$/);
    const failedLogs = await run(["task-run", "ls", "--flow-run", failed.name, "--state", "failed", "--json"]);
    expect(JSON.parse(failedLogs.stdout)).toMatchObject([{ taskKey: "refuse-0", state: { name: "Failed" } }]);
  }, SLOW);

  it("work-queue ls, inspect, pause and resume; worker ls shows who is online", async () => {
    const ls = await run(["work-queue", "ls", "--pool", "cli-pool"]);
    expect(ls.stdout).toMatch(/│ cli-pool │ urgent +│ 1 +│ 3 +│ ready/);
    expect(await refused(["work-queue", "inspect", "nope"])).toMatch(/work queue "nope" does not exist; see baton work-queue ls/);
    expect((await run(["work-queue", "pause", "urgent"])).stdout).toMatch(/Work queue "urgent" of pool "cli-pool" paused/);
    const queue = (await orchestration.getWorkPool("cli-pool"))!.queues.find((q) => q.name === "urgent")!;
    expect(queue).toMatchObject({ paused: true, priority: 1, concurrencyLimit: 3 }); // priority and limit kept
    expect(JSON.parse((await run(["work-queue", "inspect", "urgent", "--pool", "cli-pool", "--json"])).stdout)).toMatchObject({ name: "urgent", paused: true, deployments: [] });
    await run(["work-queue", "resume", "urgent", "--pool", "cli-pool"]);
    expect((await orchestration.getWorkPool("cli-pool"))!.queues.find((q) => q.name === "urgent")!.paused).toBe(false);

    await orchestration.registerWorker({ id: `w-online-${mode}`, name: "alive", poolName: "cli-pool", runLimit: 4, heartbeatMs: 60_000 });
    await orchestration.registerWorker({ id: `w-gone-${mode}`, name: "gone", poolName: "cli-pool", runLimit: null, heartbeatMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const workers = await run(["worker", "ls"]);
    expect(workers.stdout).toMatch(/│ alive +│ cli-pool +│ online/);
    expect(workers.stdout).not.toMatch(/gone/);
    expect(workers.stderr).toMatch(/1 offline worker\(s\) not shown: --all/);
    expect((await run(["worker", "ls", "--all", "--json"])).stdout).toMatch(/"status": "offline"/);
  }, SLOW);

  it("deployment schedule ls, add, pause, resume and delete one schedule; deployment run --start-in and --start-at", async () => {
    const yaml = path.join(home, "baton.yaml");
    fs.writeFileSync(yaml, `deployments:\n  - name: squares\n    entrypoint: ${path.relative(home, FLOWS)}:fanOut\n    work_pool: cli-pool\n    schedules:\n      - cron: "0 3 * * *"\n`);
    await run(["deploy", "--file", yaml]);
    expect(await refused(["deployment", "schedule", "add", "squares", "--cron", "bad cron"])).toMatch(/schedule\.cron "bad cron" is invalid/);
    expect(await refused(["deployment", "schedule", "add", "squares", "--cron", "0 * * * *", "--interval", "1h"])).toMatch(/give exactly one of --cron, --interval or --rrule/);
    const added = await run(["deployment", "schedule", "add", "squares", "--interval", "15m"]);
    expect(added.stdout).toMatch(/Added schedule 2 of "squares": every 15 min/);
    expect(added.stdout).toMatch(/Next runs \(UTC\): \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, /);
    const ls = await run(["deployment", "schedule", "ls", "squares"]);
    expect(ls.stdout).toMatch(/│ 1 │ cron 0 3 \* \* \* \(UTC\) +│ active/);
    expect(ls.stdout).toMatch(/│ 2 │ every 15 min +│ active/);
    expect((await run(["deployment", "schedule", "pause", "squares", "2"])).stdout).toMatch(/Schedule 2 of "squares" \(every 15 min\) paused/);
    expect((await orchestration.getDeployment("squares"))!.schedules.map((s) => s.active)).toEqual([true, false]);
    const second = (await orchestration.getDeployment("squares"))!.schedules[1]!.id;
    await run(["deployment", "schedule", "resume", "squares", second.slice(0, 30)]);
    expect((await orchestration.getDeployment("squares"))!.schedules.map((s) => s.active)).toEqual([true, true]);
    expect(await refused(["deployment", "schedule", "delete", "squares", "7"])).toMatch(/deployment "squares" has no schedule "7"; it has 2: name one by position \(1 to 2\) or id/);
    expect((await run(["deployment", "schedule", "delete", "squares", "1"])).stdout).toMatch(/Deleted schedule cron 0 3 \* \* \* \(UTC\) of "squares" \(1 left\)/);
    expect((await orchestration.getDeployment("squares"))!.schedules.map((s) => s.spec)).toMatchObject([{ kind: "interval", intervalMs: 900_000 }]);

    const before = Date.now();
    const later = await run(["deployment", "run", "squares", "--start-in", "10m"]);
    expect(later.stdout).toMatch(/Created flow run \S+ \(\S+\) of deployment "squares", due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    const d = (await orchestration.getDeployment("squares"))!;
    const runs = await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Scheduled"] });
    const inTen = runs.find((r) => r.state.message === "created from the CLI" && Math.abs(r.state.scheduledAt! - (before + 600_000)) < 30_000);
    expect(inTen, JSON.stringify(runs.map((r) => r.state))).toBeDefined();
    await run(["deployment", "run", "squares", "--start-at", "2031-01-02T03:04:05Z"]);
    expect((await store.listFlowRuns({ deploymentId: d.id })).some((r) => r.state.scheduledAt === Date.UTC(2031, 0, 2, 3, 4, 5))).toBe(true);
    expect(await refused(["deployment", "run", "squares", "--start-in", "soon"])).toMatch(/--start-in must be a duration such as 90s, 10m, 1h30m or 2d, got "soon"/);
    const byDeployment = JSON.parse((await run(["flow-run", "ls", "--deployment", "squares", "--json"])).stdout) as { deploymentId: string }[];
    expect(byDeployment.length).toBeGreaterThanOrEqual(2);
    expect(byDeployment.every((r) => r.deploymentId === d.id)).toBe(true);
    expect(await refused(["flow-run", "ls", "--deployment", "nope"])).toMatch(/--deployment: deployment "nope" does not exist/);
  }, SLOW);
});
