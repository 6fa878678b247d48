/** A Baton server over a fresh database of one dialect, called through Fastify's inject. */
import { expect } from "vitest";
import { buildServer, type BatonServer, type ServerOptions } from "../../src/server/app.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import { makeState } from "../../src/core/states.ts";
import type { FlowRun, TaskRun } from "../../src/store/types.ts";
import { newId } from "../../src/core/ids.ts";
import { freshDatabaseUrl, type TestDialect } from "./databases.ts";

export interface ApiHarness {
  store: KyselyStore;
  server: BatonServer;
  url: string;
  call(method: string, url: string, payload?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function apiHarness(dialect: TestDialect, options: Partial<ServerOptions> = {}): Promise<ApiHarness> {
  const db = await freshDatabaseUrl(dialect);
  const store = await openStore(db.url);
  const server = await buildServer({ store, bodyLimit: 64 * 1024, eventPollMs: 50, ...options });
  return {
    store,
    server,
    url: db.url,
    async call(method, url, payload, headers = {}) {
      const response = await server.app.inject({ method: method as "GET", url, payload: payload as string, headers });
      let body: any = undefined;
      try {
        body = response.body ? JSON.parse(response.body) : undefined;
      } catch {
        body = response.body;
      }
      return { status: response.statusCode, body, headers: response.headers };
    },
    async close() {
      await server.close();
      await store.close();
      await db.cleanup();
    },
  };
}

export function expectError(res: { status: number; body: any }, status: number, pattern: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toMatchObject({ code: expect.any(String), message: expect.stringMatching(pattern) });
  expect(res.body.error).toHaveProperty("details");
}

let claims = 0;

/**
 * A flow run a worker claimed (Pending, its workerId set), made as a worker gets one: created
 * Scheduled in a work pool of its own, then claimed. Worker keys may write to it.
 */
export async function claimedFlowRun(store: KyselyStore, flowName = "claimed", workerId = "test-worker"): Promise<FlowRun> {
  const orchestration = new KyselyOrchestrationStore(store);
  const pool = `claims-${claims++}`;
  await orchestration.upsertWorkPool({ name: pool });
  await store.createFlowRun({
    id: newId(), flowName, name: "claimed", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null,
    workPool: pool, workQueue: "default", entrypoint: "flows.ts:claimed", state: makeState("Scheduled", { scheduledAt: Date.now() - 1 }),
  });
  const [run] = await orchestration.claimFlowRuns(pool, workerId, 1, Date.now());
  if (!run) throw new Error(`no run of pool ${pool} could be claimed`);
  return run;
}

let keys = 0;

/** A task-run op of a batch, in `state`, for flow run `flowRunId` (a fresh task key by default). */
export interface TaskRunOp {
  kind: "taskRun";
  taskRun: TaskRun;
  force?: boolean;
}

export function taskRunOp(flowRunId: string, fields: { id?: string; taskKey?: string; state?: ReturnType<typeof makeState>; runCount?: number } = {}): TaskRunOp {
  const state = fields.state ?? makeState("Pending");
  const id = fields.id ?? newId();
  return {
    kind: "taskRun",
    taskRun: {
      id,
      flowRunId,
      taskKey: fields.taskKey ?? `t-${keys++}`,
      taskName: "t",
      state,
      runCount: fields.runCount ?? 0,
      cacheKey: null,
      resultId: null,
      error: null,
      tags: [],
      createdAt: state.timestamp,
      startTime: null,
      endTime: null,
    },
  };
}

/** The state-history op that goes with a task-run op. */
export function stateOp(op: TaskRunOp) {
  return { kind: "state" as const, state: { ...op.taskRun.state, flowRunId: op.taskRun.flowRunId, taskRunId: op.taskRun.id } };
}
