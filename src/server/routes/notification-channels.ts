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
import { errorResponses, jsonSchema } from "../schemas.ts";
import { NameParamsSchema, type NameParams } from "../../schemas/fields.ts";
import {
  ChannelTestResultSchema,
  NotificationChannelInputSchema,
  NotificationChannelListSchema,
  NotificationChannelSchema,
  type ChannelTestResult,
  type NotificationChannel,
  type NotificationChannelInput,
  type NotificationChannelList,
} from "../../schemas/notification-channel.ts";
import type { PublicUrl } from "../notification-context.ts";
import type { ChannelValues } from "../channel-values.ts";
import { InvalidReferenceError, type RefStores } from "../../services/config-refs.ts";
import { createChannel, deleteChannel, maskedChannel, NotificationChannelInUseError, replaceChannel, testChannel } from "../notification-channels.ts";

const TAGS = ["notifications"];
const nameParams = jsonSchema(NameParamsSchema);
const specBody = jsonSchema(NotificationChannelInputSchema);
const channelAnswer = jsonSchema(NotificationChannelSchema);

function asApiError(error: unknown): unknown {
  if (error instanceof NotificationChannelError) {
    const problems = error.problems.map((p) => ({ field: `body.${p.field}`, message: `body.${p.message}` }));
    return new ApiError(400, "VALIDATION_ERROR", problems.map((p) => p.message).join("; "), { field: `body.${error.field}`, problems });
  }
  if (error instanceof InvalidReferenceError) return new ApiError(400, "VALIDATION_ERROR", `body.${error.message}`, { field: `body.${error.details.field}` });
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

/** `values`: the references' existence (checked when a channel is stored) and values (read by a test). */
export function notificationChannelRoutes(
  app: FastifyInstance,
  channels: NotificationChannelStore,
  automations: Pick<AutomationStore, "listAutomations">,
  publicUrl: PublicUrl,
  values: { refs: RefStores; read: ChannelValues },
): void {
  app.post<{ Body: NotificationChannelInput; Reply: NotificationChannel }>(
    "/api/notification-channels",
    { schema: { tags: TAGS, summary: "Create a notification channel (webhook, slack or email)", body: specBody, response: { 201: channelAnswer, ...errorResponses(400, 409) } } },
    async (request, reply) => reply.status(201).send(await rethrown(() => createChannel(channels, values.refs, request.body))),
  );

  app.get<{ Reply: NotificationChannelList }>("/api/notification-channels", { schema: { tags: TAGS, summary: "List notification channels, their credentials masked", response: { 200: jsonSchema(NotificationChannelListSchema) } } }, async () => ({
    items: (await channels.listChannels()).map(maskedChannel),
  }));

  app.get<{ Params: NameParams; Reply: NotificationChannel }>(
    "/api/notification-channels/:name",
    { schema: { tags: TAGS, summary: "Get a notification channel by id or name, its credentials masked", params: nameParams, response: { 200: channelAnswer, ...errorResponses(404) } } },
    async (request) => {
      const found = await channels.getChannel(request.params.name);
      if (!found) throw notFound("notification channel", request.params.name);
      return maskedChannel(found);
    },
  );

  app.put<{ Params: NameParams; Body: NotificationChannelInput; Reply: NotificationChannel }>(
    "/api/notification-channels/:name",
    { schema: { tags: TAGS, summary: "Replace a notification channel's spec (give its settings in full: masked values are not kept)", params: nameParams, body: specBody, response: { 200: channelAnswer, ...errorResponses(400, 404, 409) } } },
    async (request) => (await rethrown(() => replaceChannel(channels, values.refs, request.params.name, request.body))) ?? Promise.reject(notFound("notification channel", request.params.name)),
  );

  app.delete<{ Params: NameParams }>(
    "/api/notification-channels/:name",
    { schema: { tags: TAGS, summary: "Delete a notification channel no automation notifies", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404, 409) } } },
    async (request, reply) => {
      if (!(await rethrown(() => deleteChannel(channels, automations, request.params.name)))) throw notFound("notification channel", request.params.name);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: NameParams; Reply: ChannelTestResult }>(
    "/api/notification-channels/:name/test",
    { schema: { tags: TAGS, summary: "Send a test message through a channel now; answers { ok, result } or { ok: false, error }", params: nameParams, response: { 200: jsonSchema(ChannelTestResultSchema), ...errorResponses(404) } } },
    async (request) => (await testChannel(channels, values.read, request.params.name, publicUrl)) ?? Promise.reject(notFound("notification channel", request.params.name)),
  );
}
