/**
 * Webhooks: made, listed and deleted by admins; called by anyone who knows a slug
 * (POST /api/webhooks/{slug}, no API key: the slug is the secret, see server/webhooks.ts). A
 * call's JSON body becomes one event through the webhook's template, stored in one transaction
 * or not at all; a body the template cannot turn into a valid event is a 400 saying why.
 */
import type { FastifyInstance } from "fastify";
import type { RunStore, Webhook, WebhookStore } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses } from "../schemas.ts";
import { createWebhook, WEBHOOK_SLUG, WebhookExistsError, type WebhookInput } from "../webhooks.ts";
import { eventFromRequest, WebhookTemplateError } from "../webhook-template.ts";

const ADMIN = { access: { roles: ["admin"] as const } };
const slugParams = { type: "object", properties: { slug: { type: "string", minLength: 1, maxLength: 100 } }, required: ["slug"] } as const;
const webhookSchema = {
  type: "object",
  properties: { id: { type: "string" }, slug: { type: "string" }, name: { type: "string" }, template: { type: "string" }, createdAt: { type: "integer" }, url: { type: "string" } },
} as const;

/** The webhook with the path to call it at. */
const withUrl = (w: Webhook) => ({ ...w, url: `/api/webhooks/${w.slug}` });

export function webhookRoutes(app: FastifyInstance, store: RunStore, webhooks: WebhookStore): void {
  app.post<{ Body: WebhookInput }>(
    "/api/webhooks",
    {
      config: ADMIN,
      schema: {
        tags: ["webhooks"],
        summary: "Make a webhook: its template (JSONata over the request body, $headers and $query) maps each call to an event. The slug (default: 32 random characters) is its secret",
        body: {
          type: "object",
          properties: {
            slug: { type: "string", pattern: WEBHOOK_SLUG.source, description: "16 to 100 letters, digits, _ or -; default random" },
            name: { type: "string", minLength: 1, maxLength: 200 },
            template: { type: "string", minLength: 1, maxLength: 100_000 },
          },
          required: ["template"],
          additionalProperties: false,
        },
        response: { 201: webhookSchema, ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => {
      try {
        return reply.status(201).send(withUrl(await createWebhook(webhooks, request.body)));
      } catch (error) {
        if (error instanceof WebhookTemplateError) throw new ApiError(400, "INVALID_TEMPLATE", `body.${error.message}`, { field: "body.template" });
        if (error instanceof WebhookExistsError) throw new ApiError(409, "CONFLICT", `body.${error.message}`, { field: "body.slug" });
        if (error instanceof TypeError) throw new ApiError(400, "VALIDATION_ERROR", `body.${error.message}`);
        throw error;
      }
    },
  );

  app.get("/api/webhooks", { config: ADMIN, schema: { tags: ["webhooks"], summary: "List webhooks (admin keys only: slugs are secrets)", response: { 200: { type: "object", properties: { items: { type: "array", items: webhookSchema } } } } } }, async () => ({
    items: (await webhooks.listWebhooks()).map(withUrl),
  }));

  app.get<{ Params: { slug: string } }>(
    "/api/webhooks/:slug",
    { config: ADMIN, schema: { tags: ["webhooks"], summary: "Get a webhook", params: slugParams, response: { 200: webhookSchema, ...errorResponses(404) } } },
    async (request) => {
      const found = await webhooks.getWebhook(request.params.slug);
      if (!found) throw notFound("webhook", request.params.slug);
      return withUrl(found);
    },
  );

  app.delete<{ Params: { slug: string } }>(
    "/api/webhooks/:slug",
    { config: ADMIN, schema: { tags: ["webhooks"], summary: "Delete a webhook (its slug stops working at once)", params: slugParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await webhooks.deleteWebhook(request.params.slug))) throw notFound("webhook", request.params.slug);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { slug: string }; Querystring: Record<string, unknown> }>(
    "/api/webhooks/:slug",
    {
      config: { access: { roles: "public" } },
      schema: {
        tags: ["webhooks"],
        summary: "Call a webhook (no API key: the slug is the secret): its template turns the JSON body into an event, stored at once",
        params: slugParams,
        response: { 202: { type: "object", properties: { id: { type: "string" }, event: { type: "string" } } }, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const webhook = await webhooks.getWebhook(request.params.slug);
      // The same answer as for a path that does not exist: a caller learns nothing of other slugs.
      if (!webhook) throw new ApiError(404, "NOT_FOUND", `no route POST /api/webhooks/${request.params.slug.slice(0, 8)}…`);
      let event;
      try {
        event = await eventFromRequest(webhook, { body: request.body, headers: request.headers, query: request.query });
      } catch (error) {
        if (error instanceof WebhookTemplateError) throw new ApiError(400, "WEBHOOK_BODY_REJECTED", error.message);
        throw error;
      }
      await store.emitEvents([event]);
      return reply.status(202).send({ id: event.id, event: event.event });
    },
  );
}
