/**
 * Automations: a trigger plus actions (core/automation-spec.ts), made, replaced, paused,
 * resumed and deleted by admins, listed with their last firing and inspected with their last
 * firings and each action's attempts. A spec that cannot work — an unknown field, a deployment
 * or work pool that does not exist, a template reading something it cannot — is a 400 naming
 * the field, and nothing is stored.
 */
import type { FastifyInstance } from "fastify";
import { AutomationExistsError, AutomationSpecError } from "../../core/automation-spec.ts";
import type { AutomationStore } from "../../store/automation-types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { checkAutomationSpec, createAutomation, inspectAutomation, SHOWN_FIRINGS, summarize, type AutomationReferences } from "../automations.ts";
import { NameParamsSchema, type NameParams } from "../../schemas/fields.ts";
import {
  AutomationDetailSchema,
  AutomationFiringListSchema,
  AutomationListSchema,
  AutomationPatchSchema,
  AutomationSchema,
  AutomationSpecInputSchema,
  FiringsQuerySchema,
  type Automation,
  type AutomationDetail,
  type AutomationFiringList,
  type AutomationList,
  type AutomationPatch,
  type AutomationSpecInput,
  type FiringsQuery,
} from "../../schemas/automation.ts";

const TAGS = ["automations"];
const nameParams = jsonSchema(NameParamsSchema);
const specBody = jsonSchema(AutomationSpecInputSchema);
const automationAnswer = jsonSchema(AutomationSchema);

/** A spec error as the API answers it: 400, the field prefixed with `body.`. */
function specError(error: AutomationSpecError): ApiError {
  const problems = error.problems.map((p) => ({ field: `body.${p.field}`, message: `body.${p.message}` }));
  return new ApiError(400, "VALIDATION_ERROR", problems.map((p) => p.message).join("; "), { field: `body.${error.field}`, problems });
}

function asApiError(error: unknown): unknown {
  if (error instanceof AutomationSpecError) return specError(error);
  if (error instanceof AutomationExistsError) return new ApiError(409, "CONFLICT", `body.${error.message}`, { field: "body.name" });
  return error;
}

export function automationRoutes(app: FastifyInstance, automations: AutomationStore, orchestration: AutomationReferences): void {
  const find = async (idOrName: string) => {
    const found = await automations.getAutomation(idOrName);
    if (!found) throw notFound("automation", idOrName);
    return found;
  };

  app.post<{ Body: AutomationSpecInput; Reply: Automation }>(
    "/api/automations",
    { schema: { tags: TAGS, summary: "Create an automation from its spec (the same as the CLI's YAML, as JSON)", body: specBody, response: { 201: automationAnswer, ...errorResponses(400, 409) } } },
    async (request, reply) => {
      try {
        return reply.status(201).send(await createAutomation(automations, orchestration, request.body));
      } catch (error) {
        throw asApiError(error);
      }
    },
  );

  app.get<{ Reply: AutomationList }>("/api/automations", { schema: { tags: TAGS, summary: "List automations, each with its last firing", response: { 200: jsonSchema(AutomationListSchema) } } }, async () => ({
    items: await summarize(automations, await automations.listAutomations()),
  }));

  app.get<{ Params: NameParams; Reply: AutomationDetail }>(
    "/api/automations/:name",
    { schema: { tags: TAGS, summary: `Get an automation by id or name, with its last ${SHOWN_FIRINGS} firings and their actions' attempts`, params: nameParams, response: { 200: jsonSchema(AutomationDetailSchema), ...errorResponses(404) } } },
    async (request) => (await inspectAutomation(automations, request.params.name)) ?? Promise.reject(notFound("automation", request.params.name)),
  );

  app.get<{ Params: NameParams; Querystring: FiringsQuery; Reply: AutomationFiringList }>(
    "/api/automations/:name/firings",
    {
      schema: {
        tags: TAGS,
        summary: "An automation's firings, newest first: the events that caused each, its actions and every attempt's outcome",
        params: nameParams,
        querystring: jsonSchema(FiringsQuerySchema),
        response: { 200: jsonSchema(AutomationFiringListSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ items: await automations.listFirings((await find(request.params.name)).id, request.query.limit) }),
  );

  const replace = async (name: string, input: unknown): Promise<Automation> => {
    const existing = await find(name);
    try {
      const spec = await checkAutomationSpec(input, orchestration);
      return (await automations.replaceAutomation(existing.id, spec)) ?? Promise.reject(notFound("automation", name));
    } catch (error) {
      throw asApiError(error);
    }
  };
  app.put<{ Params: NameParams; Body: AutomationSpecInput; Reply: Automation }>(
    "/api/automations/:name",
    { schema: { tags: TAGS, summary: "Replace an automation's spec (its trigger windows start over)", params: nameParams, body: specBody, response: { 200: automationAnswer, ...errorResponses(400, 404, 409) } } },
    async (request) => replace(request.params.name, request.body),
  );
  app.patch<{ Params: NameParams; Body: AutomationPatch; Reply: Automation }>(
    "/api/automations/:name",
    {
      schema: { tags: TAGS, summary: "Change some top-level fields of an automation's spec (name, description, trigger, actions); its trigger windows start over", params: nameParams, body: jsonSchema(AutomationPatchSchema), response: { 200: automationAnswer, ...errorResponses(400, 404, 409) } },
    },
    async (request) => replace(request.params.name, { ...(await find(request.params.name)).spec, ...request.body }),
  );

  for (const [action, paused] of [["pause", true], ["resume", false]] as const)
    app.post<{ Params: NameParams; Reply: Automation }>(
      `/api/automations/:name/${action}`,
      { schema: { tags: TAGS, summary: paused ? "Pause an automation: events are not counted while it is paused" : "Resume an automation: its windows start over", params: nameParams, response: { 200: automationAnswer, ...errorResponses(404) } } },
      async (request) => (await automations.setAutomationPaused(request.params.name, paused)) ?? Promise.reject(notFound("automation", request.params.name)),
    );

  app.delete<{ Params: NameParams }>(
    "/api/automations/:name",
    { schema: { tags: TAGS, summary: "Delete an automation with its trigger state, firings and pending actions", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await automations.deleteAutomation(request.params.name))) throw notFound("automation", request.params.name);
      return reply.status(204).send();
    },
  );
}
