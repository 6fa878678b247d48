/**
 * Notification channels: a spec (core/notification-channels.ts owns its strict checks and the
 * messages naming each field) and the record answered — always with its credentials masked.
 */
import { z } from "zod";
import { CHANNEL_TYPES, EMAIL_SETTINGS, SLACK_SETTINGS, WEBHOOK_SETTINGS, type NotificationChannelSpec } from "../core/notification-channels.ts";
import { epochMs, itemsOf, jsonObject } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

const record = { id: z.string(), name: z.string(), description: z.string().optional(), createdAt: epochMs, updatedAt: epochMs };

/**
 * A channel; its `type` decides its settings. Documented as one object (the OpenAPI document
 * lists its fields), read as the union over `type`, so code that checks the type knows the settings.
 */
export const NotificationChannelSchema = z
  .object({ ...record, type: z.enum(CHANNEL_TYPES), settings: z.union([WEBHOOK_SETTINGS, SLACK_SETTINGS, EMAIL_SETTINGS]).describe("masked: URL passwords, Slack webhook paths and header values") })
  .pipe(
    z.discriminatedUnion("type", [
      z.object({ ...record, type: z.literal("webhook"), settings: WEBHOOK_SETTINGS }),
      z.object({ ...record, type: z.literal("slack"), settings: SLACK_SETTINGS }),
      z.object({ ...record, type: z.literal("email"), settings: EMAIL_SETTINGS }),
    ]),
  )
  .meta({ id: "NotificationChannel" });
export type NotificationChannel = z.output<typeof NotificationChannelSchema>;
/** A stored channel is its spec with an id and times (the store builds one from the other). */
export const CHANNEL_IS_SPEC: Equal<NotificationChannel extends NotificationChannelSpec ? true : false, true> = true;
export const NotificationChannelListSchema = itemsOf(NotificationChannelSchema);
export type NotificationChannelList = z.output<typeof NotificationChannelListSchema>;

/**
 * A spec as a request body: the fields' types only. Its own checks (strict, each message naming
 * the field) run in the use case, where the CLI's YAML gets the same ones.
 */
export const NotificationChannelInputSchema = z
  .looseObject({
    name: z.string().optional(),
    description: z.string().optional(),
    type: z.string().describe("webhook, slack or email").optional(),
    settings: jsonObject.optional(),
  })
  .describe("A notification channel: { name, description?, type: webhook | slack | email, settings: { url, ... } }");
export type NotificationChannelInput = z.output<typeof NotificationChannelInputSchema>;

/** What a test delivery did. */
export const ChannelTestResultSchema = z.object({ channel: z.string(), ok: z.boolean(), result: jsonObject.optional(), error: z.string().optional() });
export type ChannelTestResult = z.output<typeof ChannelTestResultSchema>;
