/** Task runs, logs, results and cache entries: what the UI reads and a remote flow writes. */
import type { FastifyInstance } from "fastify";
import type { RunStore, TaskRun } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { StateHistorySchema, type StateRecord } from "../../schemas/state.ts";
import { TaskRunListSchema, TaskRunPageSchema, TaskRunSchema, TaskRunSearchSchema, type TaskRunList, type TaskRunPage, type TaskRunSearch } from "../../schemas/task-run.ts";
import { LogIngestAnswerSchema, LogIngestSchema, LogListSchema, LogQuerySchema, type LogIngest, type LogIngestAnswer, type LogList, type LogQuery } from "../../schemas/log.ts";
import { CacheEntrySchema, CacheParamsSchema, ResultSchema, type CacheEntry, type CacheParams, type ResultRecord } from "../../schemas/result.ts";

const idParams = jsonSchema(IdParamsSchema);

/** A task run a body refers to must exist (404) and belong to the body's flow run (409). */
export function checkTaskRun(run: TaskRun | undefined, id: string, flowRunId: string, field: string): void {
  if (!run) throw new ApiError(404, "NOT_FOUND", `${field}: task run ${id} was not found`);
  if (run.flowRunId !== flowRunId) throw new ApiError(409, "CONFLICT", `${field}: task run ${id} belongs to flow run ${run.flowRunId}, not ${flowRunId}`);
}

export function runDataRoutes(app: FastifyInstance, store: RunStore): void {
  app.get<{ Params: IdParams; Reply: TaskRunList }>(
    "/api/flow-runs/:id/task-runs",
    {
      schema: {
        tags: ["task runs"],
        summary: "The task runs of a flow run, with their dependencies",
        params: idParams,
        response: { 200: jsonSchema(TaskRunListSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      const [items, dependencies] = await Promise.all([store.listTaskRuns(request.params.id), store.listDependencies(request.params.id)]);
      return { items, dependencies };
    },
  );

  app.get<{ Querystring: TaskRunSearch; Reply: TaskRunPage }>(
    "/api/task-runs",
    {
      schema: {
        tags: ["task runs"],
        summary: "Task runs of any flow run whose id starts with idPrefix (how the CLI resolves `baton task-run inspect 0193a4f2-7c1e`)",
        querystring: jsonSchema(TaskRunSearchSchema),
        response: { 200: jsonSchema(TaskRunPageSchema), ...errorResponses(400) },
      },
    },
    async (request) => ({ items: await store.findTaskRunsByIdPrefix(request.query.idPrefix, request.query.limit) }),
  );

  app.get<{ Params: IdParams; Reply: TaskRun }>(
    "/api/task-runs/:id",
    { schema: { tags: ["task runs"], summary: "Get a task run", params: idParams, response: { 200: jsonSchema(TaskRunSchema), ...errorResponses(404) } } },
    async (request) => {
      const run = await store.getTaskRun(request.params.id);
      if (!run) throw notFound("task run", request.params.id);
      return run;
    },
  );

  app.get<{ Params: IdParams; Reply: StateRecord[] }>(
    "/api/task-runs/:id/states",
    {
      schema: {
        tags: ["task runs"],
        summary: "A task run's state history, oldest first",
        params: idParams,
        response: { 200: jsonSchema(StateHistorySchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      if (!(await store.getTaskRun(request.params.id))) throw notFound("task run", request.params.id);
      return store.stateHistory(request.params.id);
    },
  );

  app.get<{ Querystring: LogQuery; Reply: LogList }>(
    "/api/logs",
    {
      schema: {
        tags: ["logs"],
        summary: "A flow run's logs, oldest first; page with afterId",
        querystring: jsonSchema(LogQuerySchema),
        response: { 200: jsonSchema(LogListSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.query.flowRunId))) throw new ApiError(404, "NOT_FOUND", `querystring.flowRunId: flow run ${request.query.flowRunId} was not found`);
      return { items: await store.listLogs(request.query) };
    },
  );

  app.post<{ Body: LogIngest; Reply: LogIngestAnswer }>(
    "/api/logs",
    {
      config: {
        access: {
          workerRuns: (request) => (request.body as LogIngest).logs.map((log, i) => ({ field: `body.logs.${i}.flowRunId`, id: log.flowRunId })),
        },
      },
      schema: {
        tags: ["logs"],
        summary: "Ingest a batch of log lines",
        body: jsonSchema(LogIngestSchema),
        response: { 202: jsonSchema(LogIngestAnswerSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const logs = request.body.logs;
      for (const id of new Set(logs.map((l) => l.flowRunId))) if (!(await store.getFlowRun(id))) throw notFound("flow run", id);
      const taskRuns = new Map((await store.getTaskRuns([...new Set(logs.flatMap((l) => (l.taskRunId ? [l.taskRunId] : [])))])).map((t) => [t.id, t]));
      logs.forEach((log, i) => {
        if (log.taskRunId) checkTaskRun(taskRuns.get(log.taskRunId), log.taskRunId, log.flowRunId, `body.logs.${i}.taskRunId`);
      });
      await store.applyWrites(logs.map((log) => ({ kind: "log" as const, log: { ...log, taskRunId: log.taskRunId ?? null } })));
      return reply.status(202).send({ accepted: logs.length });
    },
  );

  app.get<{ Params: IdParams; Reply: ResultRecord }>(
    "/api/results/:id",
    {
      schema: {
        tags: ["results"],
        summary: "A stored result: its value is text in the encoding its `serializer` names (devalue/1: devalue's stringify with Buffer and Error reducers)",
        params: idParams,
        response: { 200: jsonSchema(ResultSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const result = await store.getResult(request.params.id);
      if (!result) throw notFound("result", request.params.id);
      return result;
    },
  );

  app.get<{ Params: CacheParams; Reply: CacheEntry }>(
    "/api/cache/:key",
    {
      schema: {
        tags: ["results"],
        summary: "A valid cache entry for a cache key",
        params: jsonSchema(CacheParamsSchema),
        response: { 200: jsonSchema(CacheEntrySchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const entry = await store.lookupCache(request.params.key, Date.now());
      if (!entry) throw notFound("cache entry", request.params.key);
      return entry;
    },
  );
}
