/**
 * A flow run's task runs and dependencies as columns, for the dashboard's run page: what the
 * page draws and nothing else (no cache keys, result ids, tags or stacks), task names and state
 * names listed once and referenced by index, times relative to one base, dependencies as index
 * triples (read by store/task-table.ts). For a 10,000-task run this is about a fifth of
 * GET /api/flow-runs/{id}/task-runs, and is written with JSON.stringify rather than a schema
 * serializer with nullable unions, which costs more than the database query at this size.
 */
import type { FastifyInstance } from "fastify";
import type { Store } from "../../store/types.ts";
import { KyselyStore } from "../../store/kysely-store.ts";
import { readTaskTable } from "../../store/task-table.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { TaskTableSchema } from "../../schemas/task-table.ts";

export function taskTableRoutes(app: FastifyInstance, store: Store): void {
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
      if (!(store instanceof KyselyStore)) throw new ApiError(501, "NOT_IMPLEMENTED", "the task table needs the server's own database");
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      const table = await readTaskTable(store.db, request.params.id);
      // A string payload is sent as it is: the schema documents it and the tests check it.
      return reply.type("application/json; charset=utf-8").send(JSON.stringify(table));
    },
  );
}
