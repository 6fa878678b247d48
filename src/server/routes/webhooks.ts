/**
 * Webhooks: made, listed and deleted by admins; called by anyone who knows a slug
 * (POST /api/webhooks/{slug}, no API key: the slug is the secret, see server/webhooks.ts). A
 * call's JSON body becomes one event through the webhook's template, stored in one transaction
 * or not at all; a body the template cannot turn into a valid event is a 400 saying why.
 */
import type { FastifyInstance } from "fastify";
import type { RunStore, Webhook, WebhookStore } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { createWebhook, WebhookExistsError } from "../webhooks.ts";
import {
  SlugParamsSchema,
  WebhookCallAnswerSchema,
  WebhookInputSchema,
  WebhookListSchema,
  WebhookWithUrlSchema,
  type SlugParams,
  type WebhookCallAnswer,
  type WebhookInput,
  type WebhookList,
  type WebhookWithUrl,
} from "../../schemas/webhook.ts";
import { eventFromRequest, WebhookTemplateError } from "../webhook-template.ts";

const slugParams = jsonSchema(SlugParamsSchema);
const webhookAnswer = jsonSchema(WebhookWithUrlSchema);

/** The webhook with the path to call it at. */
const withUrl = (w: Webhook): WebhookWithUrl => ({ ...w, url: `/api/webhooks/${w.slug}` });

export function webhookRoutes(app: FastifyInstance, store: RunStore, webhooks: WebhookStore): void {
  app.post<{ Body: WebhookInput; Reply: WebhookWithUrl }>(
    "/api/webhooks",
    {
      schema: {
        tags: ["webhooks"],
        summary: "Make a webhook: its template (JSONata over the request body, $headers and $query) maps each call to an event. The slug (default: 32 random characters) is its secret",
        body: jsonSchema(WebhookInputSchema),
        response: { 201: webhookAnswer, ...errorResponses(400, 409) },
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

  app.get<{ Reply: WebhookList }>("/api/webhooks", { schema: { tags: ["webhooks"], summary: "List webhooks (admin keys only: slugs are secrets)", response: { 200: jsonSchema(WebhookListSchema) } } }, async () => ({
    items: (await webhooks.listWebhooks()).map(withUrl),
  }));

  app.get<{ Params: SlugParams; Reply: WebhookWithUrl }>(
    "/api/webhooks/:slug",
    { schema: { tags: ["webhooks"], summary: "Get a webhook", params: slugParams, response: { 200: webhookAnswer, ...errorResponses(404) } } },
    async (request) => {
      const found = await webhooks.getWebhook(request.params.slug);
      if (!found) throw notFound("webhook", request.params.slug);
      return withUrl(found);
    },
  );

  app.delete<{ Params: SlugParams }>(
    "/api/webhooks/:slug",
    { schema: { tags: ["webhooks"], summary: "Delete a webhook (its slug stops working at once)", params: slugParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await webhooks.deleteWebhook(request.params.slug))) throw notFound("webhook", request.params.slug);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: SlugParams; Querystring: Record<string, unknown>; Reply: WebhookCallAnswer }>(
    "/api/webhooks/:slug",
    {
      schema: {
        tags: ["webhooks"],
        summary: "Call a webhook (no API key: the slug is the secret): its template turns the JSON body into an event, stored at once",
        params: slugParams,
        response: { 202: jsonSchema(WebhookCallAnswerSchema), ...errorResponses(400, 404) },
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
