/** Webhooks: requests to `POST /api/webhooks/{slug}` become events through a template. */
import { z } from "zod";
import { epochMs, itemsOf } from "./fields.ts";

/** Slugs: URL-safe, long enough to be unguessable (the slug is the webhook's secret). */
export const WEBHOOK_SLUG = /^[A-Za-z0-9_-]{16,100}$/;

export const WebhookSchema = z.object({
  id: z.string(),
  slug: z.string().describe("its address and its secret: whoever knows it can send events through it"),
  name: z.string(),
  template: z.string().describe("a JSONata expression over the request body ($headers, $query bound) giving the event"),
  createdAt: epochMs,
});
export type Webhook = z.output<typeof WebhookSchema>;

/** A webhook as the API answers it: with the path to call it at. */
export const WebhookWithUrlSchema = WebhookSchema.extend({ url: z.string() });
export type WebhookWithUrl = z.output<typeof WebhookWithUrlSchema>;
export const WebhookListSchema = itemsOf(WebhookWithUrlSchema);
export type WebhookList = z.output<typeof WebhookListSchema>;

/** `POST /api/webhooks`. */
export const WebhookInputSchema = z.strictObject({
  slug: z.string().regex(WEBHOOK_SLUG).describe("16 to 100 letters, digits, _ or -; default random").optional(),
  name: z.string().min(1).max(200).describe('default: "webhook"').optional(),
  template: z.string().min(1).max(100_000),
});
export type WebhookInput = z.output<typeof WebhookInputSchema>;

/** What a call of a webhook stored. */
export const WebhookCallAnswerSchema = z.object({ id: z.string(), event: z.string() });
export type WebhookCallAnswer = z.output<typeof WebhookCallAnswerSchema>;

export const SlugParamsSchema = z.object({ slug: z.string().min(1).max(100) });
export type SlugParams = z.output<typeof SlugParamsSchema>;
