/** GET /api/flow-runs/{id}/task-table, the run page's compact columns, on SQLite and PostgreSQL: same content as the full task-run list. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatonServer } from "../../src/server/app.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { TaskRun } from "../../src/store/types.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";
import { readTaskTable } from "../../src/store/task-table.ts";

describe.each(DIALECTS)("task table API on %s", (dialect) => {
  let api: ApiHarness;
  let store: KyselyStore;
  let server: BatonServer;

  beforeAll(async () => {
    api = await apiHarness(dialect, { schedulerMs: 600_000 });
    ({ store, server } = api);
  });
  afterAll(() => api.close());

  it("answers the task runs and dependencies as columns that decode to the full list", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "cols", name: "cols", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    const now = Date.now();
    const task = (key: string, name: string, state: TaskRun["state"], extra: Partial<TaskRun> = {}): TaskRun => ({
      id: newId(), flowRunId: run.id, taskKey: key, taskName: name, state, runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now, startTime: now + 5, endTime: now + 9, ...extra,
    });
    const a = task("load-0", "load", makeState("Completed", { timestamp: now + 9 }));
    const b = task("fit-0", "fit", makeState("Failed", { timestamp: now + 20, message: "diverged" }), { runCount: 2, error: { name: "Error", message: "loss is NaN" } });
    const c = task("fit-1", "fit", makeState("Pending", { timestamp: now + 1 }), { startTime: null, endTime: null });
    await store.applyWrites([
      ...[a, b, c].map((taskRun) => ({ kind: "taskRun" as const, taskRun })),
      { kind: "dependency", dependency: { taskRunId: b.id, upstreamTaskRunId: a.id, kind: "data" } },
      { kind: "dependency", dependency: { taskRunId: c.id, upstreamTaskRunId: a.id, kind: "wait" } },
    ]);
    const response = await server.app.inject({ method: "GET", url: `/api/flow-runs/${run.id}/task-table` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const t = JSON.parse(response.body);
    const full = JSON.parse((await server.app.inject({ method: "GET", url: `/api/flow-runs/${run.id}/task-runs` })).body);
    expect(t.ids).toEqual(full.items.map((x: TaskRun) => x.id));
    const decoded = t.ids.map((id: string, i: number) => ({
      id,
      taskKey: t.keys[i],
      taskName: t.taskNames[t.names[i]],
      state: { name: t.stateNames[t.states[i]], type: t.stateTypes[t.states[i]], timestamp: t.base + t.stateAt[i] },
      runCount: t.runCounts[i],
      startTime: t.start[i] === null ? null : t.base + t.start[i],
      endTime: t.end[i] === null ? null : t.base + t.end[i],
    }));
    expect(decoded).toEqual(full.items.map((x: TaskRun) => ({ id: x.id, taskKey: x.taskKey, taskName: x.taskName, state: { name: x.state.name, type: x.state.type, timestamp: x.state.timestamp }, runCount: x.runCount, startTime: x.startTime, endTime: x.endTime })));
    expect(t.taskNames.sort()).toEqual(["fit", "load"]);
    const row = (id: string) => t.ids.indexOf(id);
    expect(t.messages).toEqual([[row(b.id), "diverged"]]);
    expect(t.errors).toEqual([[row(b.id), "loss is NaN"]]);
    const triples = [];
    for (let k = 0; k < t.deps.length; k += 3) triples.push([t.ids[t.deps[k]], t.ids[t.deps[k + 1]], t.deps[k + 2]]);
    expect(triples.sort()).toEqual([[b.id, a.id, 0], [c.id, a.id, 1]].sort());
  });

  it("reads a run in pages along the task keys and answers them in call order (created_at, then key)", async () => {
    const run = await store.createFlowRun({ id: newId(), flowName: "paged", name: "paged", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    const now = Date.now();
    // Keys whose order differs from the call order, with ties on created_at that the key breaks.
    const created = [5, 1, 3, 1, 2, 5, 0];
    const runs: TaskRun[] = created.map((at, i) => ({
      id: newId(), flowRunId: run.id, taskKey: `t-${(i * 7) % 10}`, taskName: i % 2 ? "odd" : "even", state: makeState("Completed", { timestamp: now + i }), runCount: 1, cacheKey: null, resultId: null, error: null, tags: [], createdAt: now + at, startTime: now + at, endTime: now + at + 1,
    }));
    await store.applyWrites([
      ...runs.map((taskRun) => ({ kind: "taskRun" as const, taskRun })),
      ...runs.slice(1).map((t, i) => ({ kind: "dependency" as const, dependency: { taskRunId: t.id, upstreamTaskRunId: runs[i]!.id, kind: "data" as const } })),
    ]);
    const expected = (await store.listTaskRuns(run.id)).map((t) => t.id);
    for (const page of [1, 2, 3, 7, 100]) {
      const t = await readTaskTable(store.db, run.id, page);
      expect(t.ids).toEqual(expected);
      expect(t.base).toBe(now);
      expect(t.deps.length).toBe(3 * (runs.length - 1));
      for (let k = 0; k < t.deps.length; k += 3) {
        const i = runs.findIndex((r) => r.id === t.ids[t.deps[k]!]);
        expect(t.ids[t.deps[k + 1]!]).toBe(runs[i - 1]!.id);
      }
    }
    expect((await readTaskTable(store.db, newId())).ids).toEqual([]);
  });

  it("answers 404 for an unknown flow run", async () => {
    const response = await server.app.inject({ method: "GET", url: `/api/flow-runs/${newId()}/task-table` });
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).error.code).toBe("NOT_FOUND");
  });
});
