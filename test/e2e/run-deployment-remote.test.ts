/**
 * `runDeployment` in remote mode: workers and their runs' processes reach only the API server.
 * A parent run on one pool's worker starts children of a deployment on another pool, whose
 * worker runs them; the parent sums their results. On PostgreSQL, the store of machines that
 * share a server (the client side is the same whatever the server's store).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize } from "../../src/core/serializer.ts";
import { ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/run-deployment-flows.ts");

describe("runDeployment behind a server on postgres", () => {
  const dialect = "postgres" as const;
  let db: WorkerDatabase;
  let server: { proc: Proc; url: string } | undefined;
  const workers: Proc[] = [];

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    for (const name of ["r-parents", "r-kids"]) await db.orchestration.upsertWorkPool({ name });
    for (const [name, flowName, pool] of [["remote-square", "square", "r-kids"], ["remote-sum", "remoteSum", "r-parents"]] as const)
      await db.orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: pool });
    server = await startServerProcess({ BATON_DATABASE_URL: db.url, BATON_HOME: path.join(db.dir, "server") });
    const env = { BATON_API_URL: server.url, BATON_HOME: path.join(db.dir, "worker"), BATON_HEARTBEAT_MS: "2000" };
    workers.push(startWorkerProcess(db.url, "r-parents", env, ["--heartbeat-ms", "2000"]), startWorkerProcess(db.url, "r-kids", env, ["--limit", "4", "--heartbeat-ms", "2000"]));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w)));
    if (server) await stopProcess(server.proc);
    await db?.close();
  });

  it("the children run on the other pool's remote worker and the parent sums them", async () => {
    const parent = (await db.orchestration.getDeployment("remote-sum"))!;
    const run = await db.createRun(parent, { xs: [2, 3] });
    const describe = async () => {
      const kids = await db.store.listFlowRuns({ parentFlowRunId: run.id, limit: 10 });
      return `parent ${(await db.store.getFlowRun(run.id))!.state.name}; children ${kids.map((k) => `${k.id} ${k.state.name}`).join(", ")}\nworkers: ${workers.map((w) => w.stderr()).join("\n")}`;
    };
    const done = await until(async () => {
      const r = await db.store.getFlowRun(run.id);
      return r && ["COMPLETED", "FAILED", "CRASHED"].includes(r.state.type) && r;
    }, "the parent to end", 120_000).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await describe()}`);
    });
    expect(done.state.name, done.state.message ?? "").toBe("Completed");
    expect(deserialize((await db.store.getResult(done.resultId!))!.value!)).toBe(13);
  }, 180_000);
});
