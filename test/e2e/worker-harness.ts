/**
 * What the worker end-to-end tests share: a fresh database per dialect with its store, helpers
 * to make deployments and runs, real `baton worker start` processes, and the check that every
 * run of a deployment ran exactly once within a concurrency limit.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, DeploymentInput, FlowRun } from "../../src/store/types.ts";
import { freshDatabaseUrl, type TestDialect } from "../support/databases.ts";
import { BIN, ROOT, startProcess, type Proc } from "../support/processes.ts";

export const FLOWS = path.join(ROOT, "test/e2e/fixtures/worker-flows.ts");

/** The most intervals [start, end] open at one instant. */
export function maxOverlap(intervals: readonly (readonly [number, number])[]): number {
  const events = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peak = 0;
  for (const [, delta] of events) peak = Math.max(peak, (open += delta));
  return peak;
}

export function startWorkerProcess(url: string, pool: string, extra: Record<string, string> = {}, more: string[] = []): Proc {
  const args = ["worker", "start", "--pool", pool, "--limit", "2", "--poll-ms", "200", "--cancel-grace-ms", "2000", "--heartbeat-ms", "500", ...more];
  return startProcess([BIN, ...args], { BATON_DATABASE_URL: url, BATON_HEARTBEAT_MS: "200", BATON_LOG_LEVEL: "warn", ...extra });
}

/** A catch handler that adds what a worker printed to a wait's timeout, for the CI log. */
export function withOutputOf(worker: Proc): (error: Error) => never {
  return (error) => {
    throw new Error(`${error.message}\nworker stdout:\n${worker.stdout().slice(-3000)}\nworker stderr:\n${worker.stderr().slice(-3000)}`);
  };
}

export interface WorkerDatabase {
  url: string;
  store: KyselyStore;
  orchestration: KyselyOrchestrationStore;
  /** A temp directory for the tests' log files. */
  dir: string;
  deploy(name: string, flowName: string, extra?: Partial<DeploymentInput>): Promise<Deployment>;
  createRun(d: Deployment, parameters?: Record<string, unknown>): Promise<FlowRun>;
  /**
   * Every run of `d` completed, appended its id to `log` exactly once, was run by one of two
   * workers (both did some), and no more than `limit` of them were Running at once.
   */
  expectEachRunOnce(d: Deployment, log: string, limit: number): Promise<void>;
  close(): Promise<void>;
}

export async function openWorkerDatabase(dialect: TestDialect): Promise<WorkerDatabase> {
  const db = await freshDatabaseUrl(dialect);
  const store = await openStore(db.url);
  const orchestration = new KyselyOrchestrationStore(store);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-workers-"));
  return {
    url: db.url,
    store,
    orchestration,
    dir,
    deploy: (name, flowName, extra = {}) => orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: extra.workPool ?? "main", ...extra }),
    createRun: (d, parameters = {}) =>
      store.createFlowRun({
        id: newId(), flowName: d.flowName, name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters, tags: [], version: null,
        entrypoint: d.entrypoint, deploymentId: d.id, workPool: d.workPool, workQueue: d.workQueue, state: makeState("Scheduled", { scheduledAt: Date.now() }),
      }),
    async expectEachRunOnce(d, log, limit) {
      const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 500 });
      const lines = fs.readFileSync(log, "utf8").trim().split("\n");
      expect(lines).toHaveLength(runs.length);
      expect(new Set(lines)).toEqual(new Set(runs.map((r) => `run ${r.id}`)));
      expect(new Set(runs.map((r) => r.workerId)).size).toBe(2);
      const intervals = await Promise.all(
        runs.map(async (r) => {
          const history = await store.stateHistory(r.id);
          return [history.find((h) => h.name === "Running")!.timestamp, history.find((h) => h.name === "Completed")!.timestamp] as const;
        }),
      );
      expect(maxOverlap(intervals)).toBeLessThanOrEqual(limit);
    },
    async close() {
      await store.close();
      await db.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
