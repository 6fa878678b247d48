/**
 * A flow run's task runs and dependencies as columns, for the dashboard's run page: what the
 * page draws and nothing else (no cache keys, result ids, tags or stacks), task names and state
 * names listed once and referenced by index, times relative to one base, dependencies as index
 * triples. For a 10,000-task run this is about a fifth of GET /api/flow-runs/{id}/task-runs,
 * and is written with JSON.stringify rather than a schema serializer with nullable unions, which
 * costs more than the database query at this size.
 */
import type { FastifyInstance } from "fastify";
import type { RunStore } from "../../store/types.ts";
import { notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { TaskTableSchema, type TaskTable } from "../../schemas/task-table.ts";

export function taskTableRoutes(app: FastifyInstance, store: RunStore): void {
  app.get<{ Params: IdParams }>(
    "/api/flow-runs/:id/task-table",
    {
      schema: {
        tags: ["task runs"],
        summary: "A flow run's task runs and dependencies as compact columns (what the dashboard's run page draws)",
        params: jsonSchema(IdParamsSchema),
        response: { 200: jsonSchema(TaskTableSchema), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      const [tasks, dependencies] = await Promise.all([store.listTaskRuns(request.params.id), store.listDependencies(request.params.id)]);
      const base = tasks.reduce((min, t) => Math.min(min, t.createdAt), tasks[0]?.createdAt ?? 0);
      const taskNames: string[] = [];
      const nameIndex = new Map<string, number>();
      const stateNames: TaskTable["stateNames"] = [];
      const stateTypes: TaskTable["stateTypes"] = [];
      const stateIndex = new Map<string, number>();
      const indexOf = <K>(map: Map<K, number>, key: K, add: () => void) => {
        let i = map.get(key);
        if (i === undefined) {
          i = map.size;
          map.set(key, i);
          add();
        }
        return i;
      };
      const row = new Map<string, number>();
      const table: TaskTable = {
        base,
        ids: [] as string[],
        keys: [] as string[],
        names: [] as number[],
        taskNames,
        states: [] as number[],
        stateNames,
        stateTypes,
        stateAt: [] as number[],
        runCounts: [] as number[],
        start: [] as (number | null)[],
        end: [] as (number | null)[],
        messages: [] as [number, string][],
        errors: [] as [number, string][],
        deps: [] as number[],
      };
      tasks.forEach((t, i) => {
        row.set(t.id, i);
        table.ids.push(t.id);
        table.keys.push(t.taskKey);
        table.names.push(indexOf(nameIndex, t.taskName, () => taskNames.push(t.taskName)));
        table.states.push(indexOf(stateIndex, t.state.name, () => (stateNames.push(t.state.name), stateTypes.push(t.state.type))));
        table.stateAt.push(t.state.timestamp - base);
        table.runCounts.push(t.runCount);
        table.start.push(t.startTime === null ? null : t.startTime - base);
        table.end.push(t.endTime === null ? null : t.endTime - base);
        if (t.state.message) table.messages.push([i, t.state.message]);
        if (t.error?.message) table.errors.push([i, t.error.message]);
      });
      for (const d of dependencies) {
        const a = row.get(d.taskRunId);
        const b = row.get(d.upstreamTaskRunId);
        if (a !== undefined && b !== undefined) table.deps.push(a, b, d.kind === "wait" ? 1 : 0);
      }
      // A string payload is sent as it is: the schema documents it and the tests check it.
      return reply.type("application/json; charset=utf-8").send(JSON.stringify(table));
    },
  );
}
