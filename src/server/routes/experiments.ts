/**
 * Experiment tracking: runs post what they logged (`logParams`, `logMetric`; a worker key for the
 * runs it holds), people read the experiments, an experiment's runs with their parameters and
 * metric summaries, runs side by side, and a run's metric curves.
 */
import type { FastifyInstance } from "fastify";
import type { RunValues } from "../../core/experiments.ts";
import type { ExperimentViews } from "../../store/experiment-store.ts";
import type { RunStore } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import {
  CompareQuerySchema,
  ExperimentListSchema,
  ExperimentParamsSchema,
  ExperimentRunListSchema,
  ExperimentRunsQuerySchema,
  MetricHistoryQuerySchema,
  MetricHistorySchema,
  RunValuesInputSchema,
  type RunValuesInput,
} from "../../schemas/experiment.ts";
import { checkTaskRun } from "./runs-data.ts";

const TAGS = ["experiments"];
const MAX_COMPARED = 50;
const list = (text: string | undefined) => (text ?? "").split(",").map((s) => s.trim()).filter(Boolean);

export function experimentRoutes(app: FastifyInstance, store: RunStore, experiments: ExperimentViews): void {
  app.post<{ Body: RunValuesInput }>(
    "/api/run-values",
    {
      config: { access: { workerRuns: (request) => ((request.body as RunValuesInput | undefined)?.entries ?? []).map((e, i) => ({ field: `body.entries.${i}.flowRunId`, id: e.flowRunId })) } },
      schema: {
        operationId: "logRunValues",
        tags: TAGS,
        summary: "Record parameters and metrics runs logged; a parameter, or a metric's step, logged again replaces its value",
        body: jsonSchema(RunValuesInputSchema),
        response: { 204: { type: "null", description: "Recorded" }, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const entries = request.body.entries;
      for (const [i, e] of entries.entries()) {
        const bad = e.metrics.findIndex((m) => !Number.isFinite(m.value));
        if (bad >= 0) throw new ApiError(400, "BAD_REQUEST", `body.entries.${i}.metrics.${bad}.value must be a finite number`);
        for (const [key, json] of Object.entries(e.params))
          try {
            JSON.parse(json);
          } catch {
            throw new ApiError(400, "BAD_REQUEST", `body.entries.${i}.params.${key} must be JSON text`);
          }
      }
      const runs = [...new Set(entries.map((e) => e.flowRunId))];
      for (const id of runs) if (!(await store.getFlowRun(id))) throw notFound("flow run", id);
      for (const [i, e] of entries.entries()) if (e.taskRunId) checkTaskRun(await store.getTaskRun(e.taskRunId), e.taskRunId, e.flowRunId, `body.entries.${i}.taskRunId`);
      await store.logRunValues(entries as RunValues[]);
      return reply.status(204).send();
    },
  );

  app.get(
    "/api/experiments",
    {
      schema: { tags: TAGS, summary: "The experiments, most recently run first, with how many runs logged to each", response: { 200: jsonSchema(ExperimentListSchema) } },
    },
    async () => ({ items: await experiments.listExperiments() }),
  );

  app.get<{ Params: { name: string }; Querystring: { limit: number } }>(
    "/api/experiments/:name/runs",
    {
      schema: {
        tags: TAGS,
        summary: "An experiment's runs, newest first: each flow run or task run that logged, with its state, parameters and metric summaries",
        params: jsonSchema(ExperimentParamsSchema),
        querystring: jsonSchema(ExperimentRunsQuerySchema),
        response: { 200: jsonSchema(ExperimentRunListSchema), ...errorResponses(400) },
      },
    },
    async (request) => ({ items: await experiments.experimentRuns(request.params.name, { limit: request.query.limit }) }),
  );

  app.get<{ Querystring: { runs: string } }>(
    "/api/experiments/compare",
    {
      schema: {
        tags: TAGS,
        summary: "Runs side by side (flow run or task run ids, in the order given), with their parameters and metric summaries",
        querystring: jsonSchema(CompareQuerySchema),
        response: { 200: jsonSchema(ExperimentRunListSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const ids = [...new Set(list(request.query.runs))];
      if (!ids.length || ids.length > MAX_COMPARED) throw new ApiError(400, "BAD_REQUEST", `querystring.runs must name 1 to ${MAX_COMPARED} run ids, comma-separated`);
      const items = await experiments.getExperimentRuns(ids);
      const missing = ids.filter((id) => !items.some((r) => r.runId === id));
      if (missing.length) throw new ApiError(404, "NOT_FOUND", `querystring.runs: ${missing.join(", ")} logged no parameters or metrics (or do not exist)`);
      return { items };
    },
  );

  app.get<{ Params: IdParams; Querystring: { names?: string; limit: number } }>(
    "/api/runs/:id/metrics",
    {
      schema: {
        tags: TAGS,
        summary: "A run's metric history (flow run or task run id): every step of every metric, for curves",
        params: jsonSchema(IdParamsSchema),
        querystring: jsonSchema(MetricHistoryQuerySchema),
        response: { 200: jsonSchema(MetricHistorySchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const history = await experiments.metricHistory(request.params.id, { names: list(request.query.names), limit: request.query.limit });
      if (!history) throw new ApiError(404, "NOT_FOUND", `run ${request.params.id} logged no parameters or metrics (or does not exist)`);
      return history;
    },
  );
}
