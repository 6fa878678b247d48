/**
 * Pausing flow runs for input: the run's own process pauses it (`pauseFlowRun` in remote mode),
 * people and automations resume it with input checked against the schema it stored, and the
 * dashboard reads the request it waits on to draw its form.
 */
import type { FastifyInstance } from "fastify";
import type { InputRequest } from "../../core/flow-run-inputs.ts";
import { refusalError } from "../../store/refusal.ts";
import type { Store } from "../../store/types.ts";
import { pausedRun, resumePausedFlowRun } from "../../services/resume-flow-run.ts";
import { ADMIN_AND_WORKER, runInParams } from "../access.ts";
import { notFound } from "../errors.ts";
import { errorResponses, ms, uuid } from "../schemas.ts";

const TAGS = ["flow runs"];
const idParams = { type: "object", properties: { id: uuid }, required: ["id"] } as const;
const key = { type: "string", minLength: 1, maxLength: 200 } as const;
const nullable = (schema: object) => ({ anyOf: [schema, { type: "null" }] });

/** A pause as the API shows it; `default` and `input` appear only when there is one. */
const flowRunInputSchema = {
  type: "object",
  properties: {
    flowRunId: { type: "string" },
    key: { type: "string" },
    schema: nullable({ type: "object", additionalProperties: true }),
    description: nullable({ type: "string" }),
    timeoutAt: nullable({ type: "integer" }),
    default: {},
    createdAt: { type: "integer" },
    input: {},
    suppliedAt: nullable({ type: "integer" }),
    suppliedBy: nullable({ type: "string" }),
  },
} as const;

export function flowRunInputRoutes(app: FastifyInstance, store: Store): void {
  app.post<{ Params: { id: string }; Body: InputRequest }>(
    "/api/flow-runs/:id/pause",
    {
      config: { access: { roles: ADMIN_AND_WORKER, workerRuns: runInParams("id") } },
      schema: {
        tags: TAGS,
        summary: "Pause a running flow run until it is resumed with input (what pauseFlowRun sends); refused transitions answer 409",
        params: idParams,
        body: {
          type: "object",
          properties: {
            key,
            schema: nullable({ type: "object" }),
            description: nullable({ type: "string", maxLength: 10_000 }),
            timeoutAt: nullable(ms),
            default: { description: "the input taken when the timeout passes; absent: the run fails then" },
          },
          required: ["key", "schema", "description", "timeoutAt"],
          additionalProperties: false,
        },
        response: { 200: { $ref: "FlowRun#" }, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const result = await store.pauseFlowRun(request.params.id, request.body);
      if (!result.accepted) throw refusalError(request.params.id, { name: "Paused" }, result);
      return result.run;
    },
  );

  app.post<{ Params: { id: string }; Body: { input?: unknown; key?: string; pausedAt?: number } }>(
    "/api/flow-runs/:id/resume",
    {
      schema: {
        tags: TAGS,
        summary:
          "Resume a Paused flow run with input: checked against the JSON Schema the run stored (400 naming each field), then the run is Scheduled " +
          "and runs on (409 NOT_PAUSED when it waits for no input)",
        params: idParams,
        body: {
          type: "object",
          properties: {
            input: { description: "the input; must pass the pause's schema (see input-request)" },
            key: { ...key, description: "the pause answered; refused (409) when the run now waits on another" },
            pausedAt: { ...ms, description: "compare-and-set: refused (409) unless the run is still in the Paused state of this timestamp" },
          },
          additionalProperties: false,
        },
        response: { 200: { $ref: "FlowRun#" }, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const { input, key: answered, pausedAt } = request.body ?? {};
      return resumePausedFlowRun(store, request.params.id, input, { by: "api", key: answered, pausedAt });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/flow-runs/:id/input-request",
    {
      schema: {
        tags: TAGS,
        summary: "What a Paused flow run waits for: the JSON Schema and description of the input (409 NOT_PAUSED when it waits for none)",
        params: idParams,
        response: { 200: flowRunInputSchema, ...errorResponses(404, 409) },
      },
    },
    async (request) => (await pausedRun(store, request.params.id)).request,
  );

  app.get<{ Params: { id: string } }>(
    "/api/flow-runs/:id/inputs",
    {
      schema: { tags: TAGS, summary: "A flow run's pauses, oldest first, with the input given to each", params: idParams, response: { 200: { type: "array", items: flowRunInputSchema }, ...errorResponses(404) } },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      return store.listFlowRunInputs(request.params.id);
    },
  );

  app.get<{ Params: { id: string; key: string } }>(
    "/api/flow-runs/:id/inputs/:key",
    {
      schema: {
        tags: TAGS,
        summary: "One pause of a flow run, by key",
        params: { type: "object", properties: { id: uuid, key }, required: ["id", "key"] },
        response: { 200: flowRunInputSchema, ...errorResponses(404) },
      },
    },
    async (request) => (await store.getFlowRunInput(request.params.id, request.params.key)) ?? Promise.reject(notFound(`pause of flow run ${request.params.id}`, request.params.key)),
  );
}
