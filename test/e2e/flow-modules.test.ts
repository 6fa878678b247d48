/**
 * Flow files in a user's project whose package.json has no "type": "module" (TypeScript files
 * there are CommonJS to Node and tsx): `baton run`, `baton deploy` and a worker load them as
 * modules, with `import … from "baton"` resolved through the project's node_modules (a symlink
 * to this checkout, as an install would be) to the Baton that runs them. A project that says
 * "type": "commonjs" gets one line saying what to change. One dialect: loading modules does not
 * depend on the store.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import { BIN, ROOT, startProcess, until } from "../support/processes.ts";

const FILES: Record<string, string> = {
  "pipeline.ts": `import { flow, task } from "baton";

const double = task(async function double(x: number) {
  return x * 2;
});

export const pipeline = flow(async function pipeline(params: { n: number }) {
  return double(params.n);
});
`,
  // A relative helper without Baton, and one that defines tasks with it.
  "lib.ts": `export function triple(x: number): number {
  return x * 3;
}
`,
  "tasks.ts": `import { task } from "baton";
import { triple } from "./lib.ts";

export const tripled = task(async function tripled(x: number) {
  return triple(x);
});
`,
  "helped.ts": `import { flow } from "baton";
import { tripled } from "./tasks.ts";

export const helped = flow(async function helped(params: { n: number }) {
  return (await tripled(params.n)) + 1;
});
`,
  "baton.yaml": `deployments:
  - name: pipeline
    entrypoint: pipeline.ts:pipeline
    work_pool: project
    parameters: { n: 2 }
  - name: helped
    entrypoint: helped.ts:helped
    work_pool: project
    parameters: { n: 2 }
`,
};

describe("flow files in a project without \"type\": \"module\"", () => {
  let project: string;
  let env: Record<string, string>;
  const baton = async (...args: string[]) => {
    const proc = startProcess([BIN, ...args], env, project);
    const code = await proc.exit;
    return { code, stdout: proc.stdout(), stderr: proc.stderr() };
  };

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "baton-project-"));
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "pipelines", version: "1.0.0", private: true }));
    for (const [name, text] of Object.entries(FILES)) fs.writeFileSync(path.join(project, name), text);
    fs.mkdirSync(path.join(project, "node_modules"));
    fs.symlinkSync(ROOT, path.join(project, "node_modules", "baton"), "dir");
    env = { BATON_HOME: path.join(project, ".baton"), BATON_LOG_LEVEL: "warn" };
  });
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  it("baton run loads them as modules, relative imports and tasks defined in them included", async () => {
    const [pipeline, helped] = await Promise.all([baton("run", "pipeline.ts", "--param", "n=3", "--json"), baton("run", "helped.ts", "--param", "n=3", "--json")]);
    expect(pipeline.code, pipeline.stderr).toBe(0);
    expect(JSON.parse(pipeline.stdout)).toMatchObject({ state: { name: "Completed" }, result: 6, taskRuns: 1 });
    expect(helped.code, helped.stderr).toBe(0);
    // One task run: the task defined in tasks.ts ran inside the flow run, not as a plain call.
    expect(JSON.parse(helped.stdout)).toMatchObject({ state: { name: "Completed" }, result: 10, taskRuns: 1 });
  });

  it("baton deploy reads them, and a worker started in the project runs their deployments", async () => {
    expect((await baton("work-pool", "create", "project")).code).toBe(0);
    const deployed = await baton("deploy");
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/Deployed "pipeline" \(pipeline\) to pool "project"/);
    expect(deployed.stdout).toMatch(/Deployed "helped" \(helped\) to pool "project"/);
    for (const name of ["pipeline", "helped"]) expect((await baton("deployment", "run", name)).code).toBe(0);
    const worker = startProcess([BIN, "worker", "start", "--pool", "project", "--poll-ms", "200", "--heartbeat-ms", "500"], env, project);
    const store = await openStore(`sqlite://${path.join(project, ".baton", "baton.db")}`);
    try {
      const ended = async () => (await store.listFlowRuns({ limit: 10 })).filter((r) => r.deploymentId !== null && ["Completed", "Failed", "Crashed"].includes(r.state.name));
      const runs = await until(async () => ((await ended()).length === 2 ? ended() : undefined), "both deployment runs to end", 40_000);
      expect(runs.map((r) => [r.flowName, r.state.name]).sort()).toEqual([["helped", "Completed"], ["pipeline", "Completed"]]);
      const helped = runs.find((r) => r.flowName === "helped")!;
      expect((await store.listTaskRuns(helped.id)).map((t) => t.state.name)).toEqual(["Completed"]);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exit;
      await store.close();
    }
  });

  it("a project that says \"type\": \"commonjs\" gets one line saying what to change", async () => {
    const manifest = path.join(project, "package.json");
    fs.writeFileSync(manifest, JSON.stringify({ name: "pipelines", type: "commonjs" }));
    try {
      const res = await baton("run", "pipeline.ts");
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split("\n")).toEqual([
        `baton: ${path.join(project, "pipeline.ts")} was loaded as CommonJS, which cannot import Baton (an ES module): add "type": "module" to ${manifest}, or rename it to .mts (ERR_REQUIRE_CYCLE_MODULE)`,
      ]);
    } finally {
      fs.writeFileSync(manifest, JSON.stringify({ name: "pipelines", version: "1.0.0", private: true }));
    }
  });
});
