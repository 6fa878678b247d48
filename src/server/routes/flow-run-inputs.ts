/**
 * Pausing flow runs for input: the run's own process pauses it (`pauseFlowRun` in remote mode),
 * people and automations resume it with input checked against the schema it stored, and the
 * dashboard reads the request it waits on to draw its form.
 */
import type { FastifyInstance } from "fastify";
import { refusalError } from "../../store/refusal.ts";
import type { Store } from "../../store/types.ts";
import { pausedRun, resumePausedFlowRun } from "../../services/resume-flow-run.ts";
import { runInParams } from "../access.ts";
import { notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import type { FlowRun } from "../../schemas/flow-run.ts";
import {
  FlowRunInputListSchema,
  InputKeyParamsSchema,
  InputRequestSchema,
  ResumeFlowRunSchema,
  type FlowRunInputRecord,
  type InputKeyParams,
  type ResumeFlowRun,
} from "../../schemas/flow-run-input.ts";
import type { InputRequest } from "../../core/flow-run-inputs.ts";

const TAGS = ["flow runs"];
const idParams = jsonSchema(IdParamsSchema);
const flowRun = { $ref: "FlowRun#" } as const;
const flowRunInput = { $ref: "FlowRunInput#" } as const;

export function flowRunInputRoutes(app: FastifyInstance, store: Store): void {
  app.post<{ Params: IdParams; Body: InputRequest; Reply: FlowRun }>(
    "/api/flow-runs/:id/pause",
    {
      config: { access: { workerRuns: runInParams("id") } },
      schema: {
        tags: TAGS,
        summary: "Pause a running flow run until it is resumed with input (what pauseFlowRun sends); refused transitions answer 409",
        params: idParams,
        body: jsonSchema(InputRequestSchema),
        response: { 200: flowRun, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const result = await store.pauseFlowRun(request.params.id, request.body);
      if (!result.accepted) throw refusalError(request.params.id, { name: "Paused" }, result);
      return result.run;
    },
  );

  app.post<{ Params: IdParams; Body: ResumeFlowRun; Reply: FlowRun }>(
    "/api/flow-runs/:id/resume",
    {
      schema: {
        tags: TAGS,
        summary:
          "Resume a Paused flow run with input: checked against the JSON Schema the run stored (400 naming each field), then the run is Scheduled " +
          "and runs on (409 NOT_PAUSED when it waits for no input)",
        params: idParams,
        body: jsonSchema(ResumeFlowRunSchema),
        response: { 200: flowRun, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const { input, key: answered, pausedAt } = request.body ?? {};
      return resumePausedFlowRun(store, request.params.id, input, { by: "api", key: answered, pausedAt });
    },
  );

  app.get<{ Params: IdParams; Reply: FlowRunInputRecord }>(
    "/api/flow-runs/:id/input-request",
    {
      schema: {
        tags: TAGS,
        summary: "What a Paused flow run waits for: the JSON Schema and description of the input (409 NOT_PAUSED when it waits for none)",
        params: idParams,
        response: { 200: flowRunInput, ...errorResponses(404, 409) },
      },
    },
    async (request) => (await pausedRun(store, request.params.id)).request,
  );

  app.get<{ Params: IdParams; Reply: FlowRunInputRecord[] }>(
    "/api/flow-runs/:id/inputs",
    {
      schema: { tags: TAGS, summary: "A flow run's pauses, oldest first, with the input given to each", params: idParams, response: { 200: jsonSchema(FlowRunInputListSchema), ...errorResponses(404) } },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      return store.listFlowRunInputs(request.params.id);
    },
  );

  app.get<{ Params: InputKeyParams; Reply: FlowRunInputRecord }>(
    "/api/flow-runs/:id/inputs/:key",
    {
      schema: {
        tags: TAGS,
        summary: "One pause of a flow run, by key",
        params: jsonSchema(InputKeyParamsSchema),
        response: { 200: flowRunInput, ...errorResponses(404) },
      },
    },
    async (request) => (await store.getFlowRunInput(request.params.id, request.params.key)) ?? Promise.reject(notFound(`pause of flow run ${request.params.id}`, request.params.key)),
  );
}
