/**
 * A worker's warm spare process, end to end with a real `baton worker start`: it imports the
 * last run's flow file before it is handed a run, so the next run of that deployment starts
 * without importing it; and when that file has changed in between, the run gets a fresh process
 * that runs the new code, never the pre-imported one.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eDialects } from "../support/databases.ts";
import { until } from "../support/processes.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

/** A flow file that says which version of it was loaded, and ran, in which process. */
const flowFile = (version: string) => `import fs from "node:fs";
import { flow } from "baton";
fs.appendFileSync(process.env.E2E_LOG!, "loaded ${version} " + process.pid + "\\n");
export const versioned = flow(async function versioned() {
  fs.appendFileSync(process.env.E2E_LOG!, "ran ${version} " + process.pid + "\\n");
});
`;

describe.each(e2eDialects("postgres"))("a worker's warm spare on %s", (dialect) => {
  let db: WorkerDatabase;
  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
  });
  afterAll(() => db.close());

  it("pre-imports the last run's flow file for the next run, and never runs a version of it that changed since", async () => {
    const file = path.join(db.dir, `versioned-${dialect}.ts`);
    const log = path.join(db.dir, `spare-${dialect}.log`);
    fs.writeFileSync(file, flowFile("v1"));
    await db.orchestration.upsertWorkPool({ name: "spare" });
    const d = await db.orchestration.upsertDeployment({ name: "versioned", flowName: "versioned", entrypoint: `${file}:versioned`, workPool: "spare" });
    const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
    const pidOf = (line: string) => line.slice(line.lastIndexOf(" ") + 1);
    const ranPids = () => new Set(lines().filter((l) => l.startsWith("ran ")).map(pidOf));
    /** The pid of a process that loaded `version` of the file but has run nothing: a spare that pre-imported it. */
    const spareWith = async (version: string) => pidOf(await until(() => lines().find((l) => l.startsWith(`loaded ${version} `) && !ranPids().has(pidOf(l))), `a spare that pre-imported ${version}`, 30_000));
    const runToCompletion = async () => {
      const run = await db.createRun(d);
      await until(async () => (await db.store.getFlowRun(run.id))!.state.name === "Completed", "the run to complete", 30_000);
    };
    const worker = startWorkerProcess(db.url, "spare", { E2E_LOG: log });
    try {
      await runToCompletion(); // a cold start; the spare started after it pre-imports the file

      const staleSpare = await spareWith("v1");
      fs.writeFileSync(file, flowFile("v2 (edited)"));
      await runToCompletion();
      expect(lines().filter((l) => l.startsWith("ran ")).map((l) => l.slice(0, l.lastIndexOf(" ")))).toEqual(["ran v1", "ran v2 (edited)"]);
      expect(ranPids().has(staleSpare)).toBe(false);
      expect(worker.stdout()).toMatch(/had loaded an older version of the flow's files: starting a new one/);

      // The spare started after that run pre-imports the new version, and runs the next run with
      // it: loaded once, before the run, in the process that ran it.
      const warm = await spareWith("v2");
      await runToCompletion();
      expect(lines().filter((l) => l.endsWith(` ${warm}`))).toEqual([`loaded v2 (edited) ${warm}`, `ran v2 (edited) ${warm}`]);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exit;
    }
  }, 120_000);
});
