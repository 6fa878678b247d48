/**
 * Deployments from the CLI and from code, on SQLite and PostgreSQL: `baton deploy` reading
 * baton.yaml (entrypoints stored relative to it, run by a worker started in that directory),
 * `baton deployment run` with a bad then a good parameter, pause and resume, and `flow.serve()`
 * running its own triggered and cron runs.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startProcess, until } from "../support/processes.ts";

const FIXTURES = path.join(ROOT, "test/e2e/fixtures");


describe.each(e2eDialects("sqlite"))("deployments from baton.yaml and flow.serve() on %s", (dialect) => {
  let dir: string;
  let env: Record<string, string>;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-deploy-"));
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    env = { BATON_HOME: dir, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "warn" };
    store = await openStore(db.url);
    orchestration = new KyselyOrchestrationStore(store);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("deploys baton.yaml, refusing a missing pool, then lists, inspects, runs with validation, pauses and deletes", async () => {
    const yaml = path.join(FIXTURES, "baton.yaml");
    const noPool = await cli(["deploy", "--file", yaml], env);
    expect(noPool.code).toBe(1);
    expect(noPool.stderr).toMatch(/work pool "yaml-pool" does not exist; create it with: baton work-pool create yaml-pool/);
    expect((await cli(["work-pool", "create", "yaml-pool"], env)).code).toBe(0);
    const deployed = await cli(["deploy", "--file", yaml], env);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/Deployed "yaml-staged" \(staged\) to pool "yaml-pool": cron 0 3 \* \* \* \(Europe\/Berlin\); every 1 h from 2025-12-31T23:15:00\.000Z/);
    const d = (await orchestration.getDeployment("yaml-staged"))!;
    expect(d).toMatchObject({ flowName: "staged", retries: 1, tags: ["yaml"], parameters: { stages: 2, ms: 10 }, jobVariables: { env: { STAGE: "prod", SHARDS: "3" } } });
    expect(d.entrypoint).toBe("worker-flows.ts:staged"); // relative to baton.yaml's directory
    expect((await orchestration.getDeployment("yaml-quick"))!).toMatchObject({ concurrencyLimit: 1, collisionStrategy: "cancel-new" });

    const ls = await cli(["deployment", "ls", "--json"], env);
    expect(JSON.parse(ls.stdout).map((x: any) => x.name).sort()).toEqual(["yaml-quick", "yaml-staged"]);
    const inspect = await cli(["deployment", "inspect", "yaml-staged"], env);
    expect(inspect.stdout).toMatch(/next runs\s+\d{4}-\d\d-\d\d/);

    const run = await cli(["deployment", "run", "yaml-staged", "--param", "stages=3"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Created flow run/);
    const runs = (await store.listFlowRuns({ flowName: "staged" })).filter((r) => r.deploymentId === d.id);
    expect(runs[0]).toMatchObject({ state: { name: "Scheduled" }, parameters: { stages: 3, ms: 10 }, workPool: "yaml-pool" });

    const badYaml = path.join(dir, "bad.yaml");
    fs.writeFileSync(badYaml, "deployments:\n  - name: x\n    entrypoint: nowhere\n    work_pool: yaml-pool\n    colour: blue\n    job_variables: { env: { 9LIVES: x } }\n");
    const bad = await cli(["deploy", "--file", badYaml], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/deployments\.0\.entrypoint: must be path\/to\/file\.ts:flowName/);
    expect(bad.stderr).toMatch(/colour/);
    expect(bad.stderr).toMatch(/deployments\.0\.job_variables\.env\.9LIVES: is not a valid environment variable name/);

    // Paused: its runs wait, even one made by hand; resumed: a worker started in the project's
    // directory (where the relative entrypoint resolves) runs them.
    expect((await cli(["deployment", "pause", "yaml-staged"], env)).stdout).toMatch(/paused/);
    expect((await orchestration.getDeployment("yaml-staged"))!.paused).toBe(true);
    expect((await cli(["deploy", "--file", yaml, "--name", "yaml-staged"], env)).code).toBe(0);
    expect((await orchestration.getDeployment("yaml-staged"))!.paused).toBe(true); // re-deploying does not resume it
    expect((await cli(["deployment", "run", "yaml-staged"], env)).code).toBe(0);
    const worker = startProcess([BIN, "worker", "start", "--pool", "yaml-pool", "--poll-ms", "200", "--heartbeat-ms", "500"], env, FIXTURES);
    await until(() => worker.stdout().includes("polling work pool"), "the worker to start");
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = (await store.listFlowRuns({ deploymentId: d.id })).filter((r) => r.expectedStartTime === null);
    // Waiting (Scheduled, or Late by now: the first was made more than BATON_LATE_AFTER_MS ago on a slow machine).
    expect(waiting.map((r) => r.state.type)).toEqual(["SCHEDULED", "SCHEDULED"]);
    expect((await cli(["deployment", "resume", "yaml-staged"], env)).stdout).toMatch(/resumed/);
    await until(async () => (await Promise.all(waiting.map((r) => store.getFlowRun(r.id)))).every((r) => r!.state.name === "Completed"), "both runs to complete", 20_000);
    worker.child.kill("SIGTERM");
    await worker.exit;
    expect((await cli(["deployment", "delete", "yaml-quick"], env)).code).toBe(0);
    expect(await orchestration.getDeployment("yaml-quick")).toBeUndefined();
    const missing = await cli(["deployment", "run", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/deployment "nope" does not exist/);
  }, 120_000); // some thirty CLI processes, each starting Node and tsx

  it("serve() registers a deployment with its parameter schema and runs triggered runs; bad parameters are refused", async () => {
    const log = path.join(dir, "serve.log");
    const child = spawn(process.execPath, ["--import", "tsx", path.join(FIXTURES, "serve-flow.ts")], {
      cwd: ROOT,
      env: { ...process.env, ...env, E2E_LOG: log },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes("Serving deployment") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/Serving deployment "greeter" of flow "greet" on 1 schedule/);
    const d = (await orchestration.getDeployment("greeter"))!;
    expect(d.parameterSchema).toMatchObject({ type: "object", properties: { name: { type: "string" } }, required: ["name"] });
    expect(d.entrypoint).toBe("test/e2e/fixtures/serve-flow.ts:greet"); // relative to the serving process's directory
    // Its cron schedule (every 5 s) fires: this process schedules and runs its deployment.
    await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("scheduledx1"), "a cron run of the served flow", 20_000);

    const bad = await cli(["deployment", "run", "greeter", "--param", "times=zero"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/parameters\.times must be integer/);
    const good = await cli(["deployment", "run", "greeter", "--param", "name=Ada", "--param", "times=2"], env);
    expect(good.code, good.stderr).toBe(0);
    await until(() => fs.readFileSync(log, "utf8").includes("Adax2"), "the triggered run", 20_000);
    // One serving process, one worker: the worker's warm spare imports this file ahead of its
    // next run, and the file's top-level serve() must not start a second worker there.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await orchestration.listWorkers("serve-greeter")).map((w) => w.name)).toHaveLength(1);
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    const runs = (await store.listFlowRuns({ flowName: "greet" })).filter((r) => r.parameters && (r.parameters as any).name === "Ada");
    expect(runs[0]!.state.name).toBe("Completed");
    expect((await store.listFlowRuns({ deploymentId: d.id, stateNames: ["Completed"] })).some((r) => r.expectedStartTime !== null && r.expectedStartTime % 5000 === 0)).toBe(true);
  }, 150_000); // waits for a cron slot and starts CLI processes: generous for a loaded machine
});

// The CLI's limit and queue commands over the store; the store's side of them runs on both
// dialects in test/integration (each CLI call is a process: one dialect keeps this quick).
describe("baton limit and baton work-queue", () => {
  let dir: string;
  let env: Record<string, string>;
  let store: KyselyStore;
  let orchestration: KyselyOrchestrationStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-limits-"));
    env = { BATON_HOME: dir, BATON_LOG_LEVEL: "warn" };
    store = await openStore(`sqlite://${path.join(dir, "baton.db")}`);
    orchestration = new KyselyOrchestrationStore(store);
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates, lists, inspects, resets and deletes limits", async () => {
    expect((await cli(["limit", "create", "db", "--limit", "3"], env)).stdout).toMatch(/Limit "db": 3 slots/);
    expect((await cli(["limit", "create", "openai", "--limit", "5", "--decay", "2"], env)).stdout).toMatch(/Limit "openai": 2 slots per second, bursts of up to 5/);
    const bad = await cli(["limit", "create", "x", "--limit", "0"], env);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/--limit must be an integer >= 1, got "0"/)]);
    await orchestration.acquireSlots(["db"], "holder-x", 2, 60_000, Date.now());
    const inspect = await cli(["limit", "inspect", "db"], env);
    expect(inspect.stdout).toMatch(/Limit db: 2\/3 slots in use/);
    expect(inspect.stdout).toMatch(/holder-x/);
    const ls = JSON.parse((await cli(["limit", "ls", "--json"], env)).stdout);
    expect(ls.map((l: any) => [l.name, l.activeSlots, l.slotDecayPerSecond])).toEqual([["db", 2, null], ["openai", 0, 2]]);
    expect((await cli(["limit", "reset", "db"], env)).stdout).toMatch(/Limit "db" reset/);
    expect((await orchestration.getConcurrencyLimit("db"))!.activeSlots).toBe(0);
    expect((await cli(["limit", "delete", "openai"], env)).code).toBe(0);
    const gone = await cli(["limit", "inspect", "openai"], env);
    expect([gone.code, gone.stderr]).toEqual([1, expect.stringMatching(/limit "openai" does not exist/)]);
  });

  it("creates queues with priorities and limits, and pools with job variables", async () => {
    expect((await cli(["work-pool", "create", "q-pool", "--limit", "4", "--env", "REGION=eu", "--cwd", "/srv"], env)).code).toBe(0);
    expect((await cli(["work-queue", "create", "urgent", "--pool", "q-pool", "--priority", "1", "--limit", "2"], env)).stdout).toMatch(/Queue "urgent" of pool "q-pool": priority 1, limit 2/);
    expect((await cli(["work-queue", "create", "bulk", "--pool", "q-pool", "--priority", "5"], env)).code).toBe(0);
    const noPool = await cli(["work-queue", "create", "x", "--pool", "nope"], env);
    expect([noPool.code, noPool.stderr]).toEqual([1, expect.stringMatching(/work pool "nope" does not exist/)]);
    const badPriority = await cli(["work-queue", "create", "x", "--pool", "q-pool", "--priority", "first"], env);
    expect(badPriority.stderr).toMatch(/--priority must be an integer >= 1/);
    const [pool] = JSON.parse((await cli(["work-pool", "ls", "--json"], env)).stdout);
    expect(pool).toMatchObject({ name: "q-pool", concurrencyLimit: 4, jobVariables: { env: { REGION: "eu" }, cwd: "/srv" } });
    expect(pool.queues.map((q: any) => [q.name, q.priority, q.concurrencyLimit])).toEqual([["default", 1, null], ["urgent", 1, 2], ["bulk", 5, null]]);
  });

  it("refuses job variables that change how runs load code (--env, baton.yaml, deployment run --env) unless the pool allows them with --allow-env", async () => {
    const refused = await cli(["work-pool", "create", "env-pool", "--env", "NODE_OPTIONS=--max-old-space-size=512"], env);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/--env\.env\.NODE_OPTIONS is refused: Node\.js reads it .*work pool "env-pool" does not allow it \(allow it with baton work-pool create env-pool --allow-env NODE_OPTIONS/)]);
    expect(await orchestration.getWorkPool("env-pool")).toBeUndefined();
    const badPattern = await cli(["work-pool", "create", "env-pool", "--allow-env", "*"], env);
    expect(badPattern.stderr).toMatch(/--allow-env\[0\] must be an environment variable name or a PREFIX_\* pattern/);
    const created = await cli(["work-pool", "create", "env-pool", "--allow-env", "NODE_OPTIONS", "--allow-env", "LD_*", "--env", "NODE_OPTIONS=--max-old-space-size=512"], env);
    expect(created.stdout, created.stderr).toMatch(/Work pool "env-pool" \(process\) with queues: default; its runs may set NODE_OPTIONS, LD_\*/);
    expect(await orchestration.getWorkPool("env-pool")).toMatchObject({ allowEnv: ["NODE_OPTIONS", "LD_*"], jobVariables: { env: { NODE_OPTIONS: "--max-old-space-size=512" } } });

    const yaml = (name: string, variable: string) => {
      const file = path.join(dir, `${name}.yaml`);
      const entrypoint = `${path.relative(dir, path.join(FIXTURES, "worker-flows.ts"))}:quick`;
      fs.writeFileSync(file, `deployments:\n  - name: ${name}\n    entrypoint: ${entrypoint}\n    work_pool: env-pool\n    job_variables: { env: { ${variable}: x } }\n`);
      return file;
    };
    const deniedYaml = yaml("env-denied", "BATON_DATABASE_URL");
    const denied = await cli(["deploy", "--file", deniedYaml], env);
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringContaining(`${deniedYaml}: deployments.0.job_variables.env.BATON_DATABASE_URL is refused: Baton's own settings`)]);
    expect((await cli(["deploy", "--file", yaml("env-allowed", "LD_LIBRARY_PATH")], env)).code).toBe(0);
    expect((await orchestration.getDeployment("env-allowed"))!.jobVariables).toEqual({ env: { LD_LIBRARY_PATH: "x" } });
    const run = await cli(["deployment", "run", "env-allowed", "--env", "TSX_TSCONFIG_PATH=/tmp/x.json"], env);
    expect([run.code, run.stderr]).toEqual([1, expect.stringMatching(/--env\.env\.TSX_TSCONFIG_PATH is refused: tsx/)]);
    expect((await cli(["deployment", "run", "env-allowed", "--env", "NODE_OPTIONS=--max-old-space-size=256"], env)).code).toBe(0);
  });
});

