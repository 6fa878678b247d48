/**
 * Crash tests: a real child process runs a flow and is killed with SIGKILL mid-flow. The run
 * must be detected Crashed (missed heartbeats), no finished task's result may be lost, the
 * store must stay intact, and a resume must complete without re-running finished tasks.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { databaseResultStorage } from "../../src/config/result-storage.ts";
import { ResultStore } from "../../src/engine/result-store.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { startProcess, until } from "../support/processes.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "crashy-flow.ts");
const HEARTBEAT_MS = 150;

function startChild(env: Record<string, string>): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const proc = startProcess(["--import", "tsx", FIXTURE], { BATON_HEARTBEAT_MS: String(HEARTBEAT_MS), BATON_LOG_LEVEL: "warn", ...env });
  return { child: proc.child, done: proc.exit.then((code) => ({ code, stdout: proc.stdout(), stderr: proc.stderr() })) };
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []);

describe.each(DIALECTS)("SIGKILL of a flow process on %s", (dialect) => {
  let url: string;
  let cleanup: () => Promise<void>;
  let store: KyselyStore;
  let dir: string;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    url = db.url;
    cleanup = db.cleanup;
    store = await openStore(url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-chaos-"));
  });

  afterAll(async () => {
    await store.close();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("detects the crash and resumes without re-running finished tasks", async () => {
    const env = {
      BATON_DATABASE_URL: url,
      BATON_RESULTS_DIR: path.join(dir, "results"),
      CRASH_LOG: path.join(dir, "chain.log"),
      CRASH_GO: path.join(dir, "chain.go"),
      CRASH_MODE: "chain",
    };
    const { child, done } = startChild(env);
    const run = await until(async () => (await store.listFlowRuns({ flowName: "crashChain" }))[0], "the flow run");
    await until(async () => (await store.listTaskRuns(run.id)).find((t) => t.taskKey === "step-2"), "step3 to start");
    child.kill("SIGKILL");
    await done;

    const stuck = (await store.getFlowRun(run.id))!;
    expect(stuck.state.name).toBe("Running");
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 4));
    expect(await store.crashStaleFlowRuns(Date.now())).toEqual([run.id]);
    const crashed = (await store.getFlowRun(run.id))!;
    expect(crashed.state.name).toBe("Crashed");
    const tasks = await store.listTaskRuns(run.id);
    expect(Object.fromEntries(tasks.map((t) => [t.taskKey, t.state.name]))).toEqual({ "step-0": "Completed", "step-1": "Completed", "step-2": "Crashed" });
    expect(lines(env.CRASH_LOG)).toEqual(["step1", "step2"]);

    fs.writeFileSync(env.CRASH_GO, "");
    const resumed = startChild({ ...env, CRASH_RESUME: run.id });
    const out = await resumed.done;
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toMatchObject({ id: run.id, state: "Completed", result: [1, 2, 3] });
    expect(lines(env.CRASH_LOG)).toEqual(["step1", "step2", "step3"]);
    const history = (await store.stateHistory(run.id)).map((s) => s.name);
    expect(history).toEqual(["Pending", "Running", "Crashed", "Pending", "Running", "Completed"]);
  });

  it("loses no committed result when killed in the middle of a fan-out, and the store stays intact", async () => {
    const env = {
      BATON_DATABASE_URL: url,
      BATON_RESULTS_DIR: path.join(dir, "results"),
      CRASH_LOG: path.join(dir, "fanout.log"),
      CRASH_GO: path.join(dir, "unused"),
      CRASH_MODE: "fanout",
    };
    const { child, done } = startChild(env);
    const run = await until(async () => (await store.listFlowRuns({ flowName: "crashFanout" }))[0], "the flow run");
    await until(async () => (await store.listTaskRuns(run.id)).filter((t) => t.state.type === "COMPLETED").length >= 300, "300 completed tasks");
    child.kill("SIGKILL");
    await done;

    if (dialect === "sqlite") {
      const check = await (store.db as any).executeQuery({ sql: "pragma integrity_check", parameters: [], query: { kind: "RawNode" } });
      expect(check.rows).toEqual([{ integrity_check: "ok" }]);
    }
    const before = await store.listTaskRuns(run.id);
    const completed = before.filter((t) => t.state.type === "COMPLETED");
    expect(completed.length).toBeGreaterThanOrEqual(300);
    expect(completed.length).toBeLessThan(1500);
    const storage = databaseResultStorage({ resultsUrl: { value: null } }, store, env.BATON_RESULTS_DIR!);
    const results = new ResultStore(store, storage.blobs, 64 * 1024, storage.legacy);
    for (const t of completed) {
      const i = Number(t.taskKey.split("-")[1]);
      expect(await results.load(t.resultId!)).toBe(i * 2);
    }

    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 4));
    const resumed = startChild({ ...env, CRASH_RESUME: run.id });
    const out = await resumed.done;
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toMatchObject({ state: "Completed", result: 1499 * 1500 });
    const executions = new Map<string, number>();
    for (const line of lines(env.CRASH_LOG)) executions.set(line, (executions.get(line) ?? 0) + 1);
    for (const t of completed) expect(executions.get(`item${t.taskKey.split("-")[1]}`)).toBe(1);
    const after = await store.listTaskRuns(run.id);
    expect(after.length).toBe(1500);
    expect(after.every((t) => t.state.type === "COMPLETED")).toBe(true);
  });
});
