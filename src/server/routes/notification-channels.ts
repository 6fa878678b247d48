/**
 * Notification channels: made, replaced and deleted by admins, listed and read by any key —
 * always with their credentials masked (server/notification-channels.ts). A spec that cannot
 * deliver (an unknown type, a URL that is not one, a template that cannot work) is a 400 naming
 * the field, and nothing is stored. `POST .../test` sends a test message now and answers what
 * the channel did, or why it failed.
 */
import type { FastifyInstance } from "fastify";
import { NotificationChannelError, NotificationChannelExistsError } from "../../core/notification-channels.ts";
import type { AutomationStore } from "../../store/automation-types.ts";
import type { NotificationChannelStore } from "../../store/notification-channel-store.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses } from "../schemas.ts";
import type { PublicUrl } from "../notification-context.ts";
import { createChannel, deleteChannel, maskedChannel, NotificationChannelInUseError, replaceChannel, testChannel } from "../notification-channels.ts";

const ADMIN = { access: { roles: ["admin"] as const } };
const TAGS = ["notifications"];
const nameParams = { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 200 } }, required: ["name"] } as const;
/** The shape for the OpenAPI document; the spec's own checks (strict, naming each field) are core/notification-channels.ts's. */
const specBody = {
  type: "object",
  description: "A notification channel: { name, description?, type: webhook | slack | email, settings: { url, ... } }",
  properties: { name: { type: "string" }, description: { type: "string" }, type: { type: "string", description: "webhook, slack or email" }, settings: { type: "object" } },
  additionalProperties: true,
} as const;
const anyObject = { type: "object", additionalProperties: true } as const;

function asApiError(error: unknown): unknown {
  if (error instanceof NotificationChannelError) {
    const problems = error.problems.map((p) => ({ field: `body.${p.field}`, message: `body.${p.message}` }));
    return new ApiError(400, "VALIDATION_ERROR", problems.map((p) => p.message).join("; "), { field: `body.${error.field}`, problems });
  }
  if (error instanceof NotificationChannelExistsError) return new ApiError(409, "CONFLICT", `body.${error.message}`, { field: "body.name" });
  if (error instanceof NotificationChannelInUseError) return new ApiError(409, "CONFLICT", error.message, { automations: error.automations });
  return error;
}

const rethrown = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw asApiError(error);
  }
};

export function notificationChannelRoutes(app: FastifyInstance, channels: NotificationChannelStore, automations: Pick<AutomationStore, "listAutomations">, publicUrl: PublicUrl): void {
  app.post<{ Body: unknown }>(
    "/api/notification-channels",
    { config: ADMIN, schema: { tags: TAGS, summary: "Create a notification channel (webhook, slack or email)", body: specBody, response: { 201: anyObject, ...errorResponses(400, 409) } } },
    async (request, reply) => reply.status(201).send(await rethrown(() => createChannel(channels, request.body))),
  );

  app.get("/api/notification-channels", { schema: { tags: TAGS, summary: "List notification channels, their credentials masked", response: { 200: { type: "object", properties: { items: { type: "array", items: anyObject } } } } } }, async () => ({
    items: (await channels.listChannels()).map(maskedChannel),
  }));

  app.get<{ Params: { name: string } }>(
    "/api/notification-channels/:name",
    { schema: { tags: TAGS, summary: "Get a notification channel by id or name, its credentials masked", params: nameParams, response: { 200: anyObject, ...errorResponses(404) } } },
    async (request) => {
      const found = await channels.getChannel(request.params.name);
      if (!found) throw notFound("notification channel", request.params.name);
      return maskedChannel(found);
    },
  );

  app.put<{ Params: { name: string }; Body: unknown }>(
    "/api/notification-channels/:name",
    { config: ADMIN, schema: { tags: TAGS, summary: "Replace a notification channel's spec (give its settings in full: masked values are not kept)", params: nameParams, body: specBody, response: { 200: anyObject, ...errorResponses(400, 404, 409) } } },
    async (request) => (await rethrown(() => replaceChannel(channels, request.params.name, request.body))) ?? Promise.reject(notFound("notification channel", request.params.name)),
  );

  app.delete<{ Params: { name: string } }>(
    "/api/notification-channels/:name",
    { config: ADMIN, schema: { tags: TAGS, summary: "Delete a notification channel no automation notifies", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404, 409) } } },
    async (request, reply) => {
      if (!(await rethrown(() => deleteChannel(channels, automations, request.params.name)))) throw notFound("notification channel", request.params.name);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { name: string } }>(
    "/api/notification-channels/:name/test",
    { config: ADMIN, schema: { tags: TAGS, summary: "Send a test message through a channel now; answers { ok, result } or { ok: false, error }", params: nameParams, response: { 200: anyObject, ...errorResponses(404) } } },
    async (request) => (await testChannel(channels, request.params.name, publicUrl)) ?? Promise.reject(notFound("notification channel", request.params.name)),
  );
}
