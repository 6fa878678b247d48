/**
 * Automations end to end, on SQLite and PostgreSQL: a real `baton server start` and a real
 * worker. A webhook made with `baton webhook create` receives `{ "key": "raw/2026-12-03.csv" }`;
 * the automation made with `baton automation create -f spec.yaml` starts the training
 * deployment with that key, once, and the run completes; a proactive automation fires when the
 * nightly flow misses its window. The server SIGKILLed and restarted fires neither again.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eDialects } from "../support/databases.ts";
import { cli, ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const TRAIN = path.join(ROOT, "test/e2e/fixtures/automation-flows.ts");
const SLUG = "e2e-automations-webhook-slug";
const TEMPLATE = '{ "event": "data.arrived", "resource": { "id": key }, "payload": { "key": key } }';

const TRAIN_SPEC = `
name: train-on-new-data
trigger:
  event: data.arrived
  match: {}
  posture: reactive
  threshold: 1
  within: 0s
actions:
  - type: run-deployment
    deployment: train
    parameters: { key: "{{ event.payload.key }}" }
`;

const NIGHTLY_SPEC = `
name: nightly-missed
trigger:
  event: baton.flow-run.Completed
  match: { related: [{ role: flow, name: nightly-train }] }
  posture: proactive
  within: 2s
actions:
  - type: emit-event
    event: nightly.missed
    resource: { id: nightly-train }
    payload: { window: "{{ firing.windowEnd }}" }
`;

describe.each(e2eDialects("postgres"))("automations behind a server process on %s", (dialect) => {
  let db: WorkerDatabase;
  let server: { proc: Proc; url: string };
  let worker: Proc;
  let home: string;
  let log: string;
  const client = () => ({ BATON_HOME: path.join(home, "client"), BATON_API_URL: `${server.url}/api`, BATON_LOG_LEVEL: "warn" });
  const serverEnv = () => ({ BATON_HOME: home, BATON_DATABASE_URL: db.url });
  const trainRuns = async () => db.store.listFlowRuns({ deploymentId: (await db.orchestration.getDeployment("train"))!.id });
  const firingsOf = async (name: string) => (await (await fetch(`${server.url}/api/automations/${name}/firings`)).json()) as { items: { actions: { status: string }[] }[] };

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    home = db.dir;
    log = path.join(home, "runs.log");
    await db.orchestration.upsertWorkPool({ name: "automations" });
    await db.orchestration.upsertDeployment({ name: "train", flowName: "train", entrypoint: `${TRAIN}:train`, workPool: "automations" });
    server = await startServerProcess(serverEnv());
    worker = startWorkerProcess(db.url, "automations", { E2E_LOG: log });
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker);
    if (server) await stopProcess(server.proc);
    await db?.close();
  });

  it("a webhook's key starts the training run once; a missed nightly window fires once; a restarted server fires neither again", async () => {
    const hook = await cli(["webhook", "create", "--slug", SLUG, "--template", TEMPLATE], client());
    expect(hook.code, hook.stderr).toBe(0);
    for (const [file, spec] of [["train.yaml", TRAIN_SPEC], ["nightly.yaml", NIGHTLY_SPEC]] as const) {
      fs.writeFileSync(path.join(home, file), spec);
      const created = await cli(["automation", "create", "-f", path.join(home, file)], client());
      expect(created.code, created.stderr).toBe(0);
    }
    const unknown = path.join(home, "unknown.yaml");
    fs.writeFileSync(unknown, TRAIN_SPEC.replace("name: train-on-new-data", "name: other").replace("deployment: train", "deployment: no-such"));
    const refused = await cli(["automation", "create", "-f", unknown], client());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/body\.actions\[0\]\.deployment: deployment "no-such" does not exist/);

    const posted = await fetch(`${server.url}/api/webhooks/${SLUG}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: "raw/2026-12-03.csv" }) });
    expect(posted.status).toBe(202);
    const [run] = await until(async () => {
      const runs = await trainRuns();
      return runs.length && runs[0]!.state.type === "COMPLETED" ? runs : undefined;
    }, "the training run to complete", 60_000);
    expect(run!.parameters).toEqual({ key: "raw/2026-12-03.csv" });
    expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([`train raw/2026-12-03.csv ${run!.id}`]);

    // The nightly flow never ran: its window (2 s) passes, and the automation fires.
    await until(async () => (await db.store.listEvents({ event: ["nightly.missed"] })).items.length > 0, "the nightly automation to fire", 20_000);
    const paused = await cli(["automation", "pause", "nightly-missed"], client());
    expect(paused.code, paused.stderr).toBe(0);
    const nightlyFirings = (await firingsOf("nightly-missed")).items.length;
    expect(nightlyFirings).toBeGreaterThanOrEqual(1);

    server.proc.child.kill("SIGKILL");
    await server.proc.exit;
    server = await startServerProcess(serverEnv(), [], Number(new URL(server.url).port));
    // Several evaluator and executor passes of the new process.
    await new Promise((r) => setTimeout(r, 3500));
    expect(await trainRuns()).toHaveLength(1);
    const trained = await firingsOf("train-on-new-data");
    expect(trained.items).toHaveLength(1);
    expect(trained.items[0]!.actions).toMatchObject([{ status: "succeeded" }]);
    expect((await firingsOf("nightly-missed")).items).toHaveLength(nightlyFirings);
    expect((await db.store.listEvents({ event: ["baton.automation.triggered"] })).items).toHaveLength(1 + nightlyFirings);

    const ls = await cli(["automation", "ls"], client());
    expect(ls.stdout).toMatch(/train-on-new-data[\s\S]*data\.arrived[\s\S]*run-deployment succeeded/);
    const inspect = await cli(["automation", "inspect", "train-on-new-data"], client());
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/run-deployment: succeeded after 1 attempt\(s\)/);
    expect(inspect.stdout).toContain("raw/2026-12-03.csv");
  }, 150_000); // eight CLI processes, each starting Node and tsx, a worker's run and a server restart
});
