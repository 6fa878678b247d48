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
import { errorResponses } from "../schemas.ts";
import { checkAutomationSpec, createAutomation, inspectAutomation, SHOWN_FIRINGS, summarize, type AutomationReferences } from "../automations.ts";

const ADMIN = { access: { roles: ["admin"] as const } };
const TAGS = ["automations"];
const nameParams = { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 200 } }, required: ["name"] } as const;
/** The shape for the OpenAPI document; the spec's own checks (strict, naming each field) are core/automation-spec.ts's. */
const specBody = {
  type: "object",
  description: "An automation spec: { name, description?, trigger: { event, match?, posture?, threshold?, within?, for_each? } | { all|any: [triggers], within? }, actions: [{ type, ... }] }",
  properties: { name: { type: "string" }, description: { type: "string" }, trigger: { type: "object" }, actions: { type: "array", items: { type: "object" } } },
  additionalProperties: true,
} as const;
const anyObject = { type: "object", additionalProperties: true } as const;

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

  app.post<{ Body: unknown }>(
    "/api/automations",
    { config: ADMIN, schema: { tags: TAGS, summary: "Create an automation from its spec (the same as the CLI's YAML, as JSON)", body: specBody, response: { 201: anyObject, ...errorResponses(400, 409) } } },
    async (request, reply) => {
      try {
        return reply.status(201).send(await createAutomation(automations, orchestration, request.body));
      } catch (error) {
        throw asApiError(error);
      }
    },
  );

  app.get("/api/automations", { schema: { tags: TAGS, summary: "List automations, each with its last firing", response: { 200: { type: "object", properties: { items: { type: "array", items: anyObject } } } } } }, async () => ({
    items: await summarize(automations, await automations.listAutomations()),
  }));

  app.get<{ Params: { name: string } }>(
    "/api/automations/:name",
    { schema: { tags: TAGS, summary: `Get an automation by id or name, with its last ${SHOWN_FIRINGS} firings and their actions' attempts`, params: nameParams, response: { 200: anyObject, ...errorResponses(404) } } },
    async (request) => (await inspectAutomation(automations, request.params.name)) ?? Promise.reject(notFound("automation", request.params.name)),
  );

  app.get<{ Params: { name: string }; Querystring: { limit?: number } }>(
    "/api/automations/:name/firings",
    {
      schema: {
        tags: TAGS,
        summary: "An automation's firings, newest first: the events that caused each, its actions and every attempt's outcome",
        params: nameParams,
        querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, maximum: 500, default: 50 } }, additionalProperties: false },
        response: { 200: { type: "object", properties: { items: { type: "array", items: anyObject } } }, ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ items: await automations.listFirings((await find(request.params.name)).id, request.query.limit ?? 50) }),
  );

  const replace = async (name: string, input: unknown) => {
    const existing = await find(name);
    try {
      const spec = await checkAutomationSpec(input, orchestration);
      return (await automations.replaceAutomation(existing.id, spec)) ?? Promise.reject(notFound("automation", name));
    } catch (error) {
      throw asApiError(error);
    }
  };
  app.put<{ Params: { name: string }; Body: unknown }>(
    "/api/automations/:name",
    { config: ADMIN, schema: { tags: TAGS, summary: "Replace an automation's spec (its trigger windows start over)", params: nameParams, body: specBody, response: { 200: anyObject, ...errorResponses(400, 404, 409) } } },
    async (request) => replace(request.params.name, request.body),
  );
  app.patch<{ Params: { name: string }; Body: Record<string, unknown> }>(
    "/api/automations/:name",
    {
      config: ADMIN,
      schema: { tags: TAGS, summary: "Change some top-level fields of an automation's spec (name, description, trigger, actions); its trigger windows start over", params: nameParams, body: anyObject, response: { 200: anyObject, ...errorResponses(400, 404, 409) } },
    },
    async (request) => replace(request.params.name, { ...(await find(request.params.name)).spec, ...request.body }),
  );

  for (const [action, paused] of [["pause", true], ["resume", false]] as const)
    app.post<{ Params: { name: string } }>(
      `/api/automations/:name/${action}`,
      { config: ADMIN, schema: { tags: TAGS, summary: paused ? "Pause an automation: events are not counted while it is paused" : "Resume an automation: its windows start over", params: nameParams, response: { 200: anyObject, ...errorResponses(404) } } },
      async (request) => (await automations.setAutomationPaused(request.params.name, paused)) ?? Promise.reject(notFound("automation", request.params.name)),
    );

  app.delete<{ Params: { name: string } }>(
    "/api/automations/:name",
    { config: ADMIN, schema: { tags: TAGS, summary: "Delete an automation with its trigger state, firings and pending actions", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await automations.deleteAutomation(request.params.name))) throw notFound("automation", request.params.name);
      return reply.status(204).send();
    },
  );
}
