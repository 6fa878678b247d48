/**
 * Docker work pools end to end, on SQLite and PostgreSQL: a real `baton worker start` on a pool
 * of type docker runs each flow run in a container of the local daemon (image
 * baton-test-node:local, built by scripts/docker-test-env.mjs from this machine's node, with
 * the project mounted read-only). A run completes and its logs are stored; a cancelled run's
 * container is stopped; a container killed with `docker kill` makes its run Crashed, saying so;
 * an image that is not there with pull: never ends the run naming the image; no container is
 * left behind.
 */
import Docker from "dockerode";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain JavaScript script, as prepare-test-env.mjs
import { prepareDockerTestEnvironment } from "../../scripts/docker-test-env.mjs";
import { cancelFlowRun } from "../../src/services/cancel-flow-run.ts";
import { DOCKER_LABELS } from "../../src/worker/docker.ts";
import { DIALECTS } from "../support/databases.ts";
import { ROOT, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/docker-flows.ts");
const environment = (await prepareDockerTestEnvironment()) as { ready: true; image: string } | { ready: false; reason: string };
const skipReason = environment.ready ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.ready).each(DIALECTS)(`Docker work pools on %s${skipReason}`, (dialect) => {
  const docker = new Docker();
  let db: WorkerDatabase;
  let worker: Proc;
  let home: string;
  const containersOf = (runId: string) => docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.flowRunId}=${runId}`] } });
  const runOf = async (flowName: string, parameters: Record<string, unknown>, jobVariables = {}) => {
    const d = await db.orchestration.upsertDeployment({ name: `${flowName}-${Object.keys(jobVariables).length}`, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: "gpu", jobVariables });
    return db.createRun(d, parameters);
  };
  const stateOf = async (id: string) => (await db.store.getFlowRun(id))!.state;

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-docker-home-"));
    // What the containers must see at the worker's paths: the project and its node_modules (a
    // symlink in worktrees) read-only; BATON_HOME and the SQLite file's directory read-write.
    const volumes = [`${ROOT}:${ROOT}:ro`, `${fs.realpathSync(path.join(ROOT, "node_modules"))}:${fs.realpathSync(path.join(ROOT, "node_modules"))}:ro`, `${home}:${home}`];
    if (dialect === "sqlite") volumes.push(`${path.dirname(db.url.slice("sqlite://".length))}:${path.dirname(db.url.slice("sqlite://".length))}`);
    await db.orchestration.upsertWorkPool({ name: "gpu", type: "docker", jobVariables: { image: environment.ready ? environment.image : "", pull: "never", volumes } });
    worker = startWorkerProcess(db.url, "gpu", { BATON_HOME: home }, ["--limit", "4"]);
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker);
    // Whatever a failed test left: the containers of this database's runs.
    for (const run of await db.store.listFlowRuns({ limit: 100 })) for (const c of await containersOf(run.id)) await docker.getContainer(c.Id).remove({ force: true });
    await db.close();
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it("runs a deployment's flow run in a container: Completed, its logs stored, its container removed, its resources logged", async () => {
    const run = await runOf("inContainer", { n: 21 });
    await until(async () => (await stateOf(run.id)).type === "COMPLETED" && true, "the run to complete", 45_000);
    const logs = await db.store.listLogs({ flowRunId: run.id });
    expect(logs.map((l) => l.message)).toContain("hello from a container: yes");
    await until(async () => (await containersOf(run.id)).length === 0, "its container to be removed", 10_000);
    await until(() => /container used \d+ ms CPU user, \d+ ms CPU system, [\d.]+ MiB peak memory, \d+ ms wall/.test(worker.stdout()), "the resources line", 10_000);
  }, 60_000);

  it("cancelling a running flow run stops its container: Cancelled, the container gone", async () => {
    const run = await runOf("sleeper", { ms: 60_000 });
    await until(async () => (await db.store.listLogs({ flowRunId: run.id })).some((l) => l.message === "sleeping"), "the run to sleep", 45_000);
    await cancelFlowRun(db.store, run.id);
    await until(async () => (await stateOf(run.id)).type === "CANCELLED" && true, "the run to be Cancelled", 20_000);
    await until(async () => (await containersOf(run.id)).length === 0, "its container to be removed", 10_000);
  }, 60_000);

  it("a container killed with docker kill: its run Crashed naming exit code 137, the container removed", async () => {
    const run = await runOf("sleeper", { ms: 60_000 });
    await until(async () => (await db.store.listLogs({ flowRunId: run.id })).some((l) => l.message === "sleeping"), "the run to sleep", 45_000);
    // Docker sends a stats sample about once a second: a container killed a moment after the run
    // logged may have sent none since node started (a fast host got there in under a second).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const [container] = await containersOf(run.id);
    await docker.getContainer(container!.Id).kill();
    await until(async () => (await stateOf(run.id)).type === "CRASHED" && true, "the run to be Crashed", 20_000);
    expect((await stateOf(run.id)).message).toMatch(/^the flow run's container was killed \(exit code 137: SIGKILL/);
    // What it used until then, from the container's stats: the run's own process could not say.
    const used = (await db.store.getFlowRun(run.id))!.resources;
    expect(used?.wallMs).toBeGreaterThan(0);
    expect(used?.peakMemoryBytes).toBeGreaterThan(10 * 1024 * 1024); // node and Baton, at least
    expect(used!.cpuUserMs! + used!.cpuSystemMs!).toBeGreaterThan(0);
    await until(async () => (await containersOf(run.id)).length === 0, "its container to be removed", 10_000);
  }, 60_000);

  it("an image that is not on the machine with pull: never ends the run at once, naming the image", async () => {
    const run = await runOf("inContainer", { n: 1 }, { image: "baton-no-such-image:missing", pull: "never" });
    await until(async () => (await stateOf(run.id)).type === "CRASHED" && true, "the run to end", 20_000);
    expect((await stateOf(run.id)).message).toMatch(/could not start: image "baton-no-such-image:missing" is not on this machine and job variable pull is "never"/);
    expect(await containersOf(run.id)).toEqual([]);
  }, 30_000);
});

// Where no daemon can be had, the report says why instead of showing nothing.
if (!environment.ready) describe("Docker work pools", () => it.skip(`skipped: ${environment.reason}`, () => undefined));
