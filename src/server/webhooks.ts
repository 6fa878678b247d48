/**
 * Making a webhook, the one use case the routes and the CLI share: the slug is checked (or made:
 * 32 random URL-safe characters, which is what makes the address a secret) and the template
 * compiled before anything is stored.
 *
 * Why the slug is the secret: webhook senders (S3 notifications, GitHub, a SaaS) can be given a
 * URL but rarely an Authorization header, and a signature scheme is each sender's own. A chosen
 * slug must therefore be long (16 characters at least); anyone who knows it can send events
 * through the webhook, so share it like a password and delete the webhook to revoke it.
 */
import { randomBytes } from "node:crypto";
import { BatonError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Webhook, WebhookStore } from "../store/types.ts";
import { WEBHOOK_SLUG, type WebhookInput } from "../schemas/webhook.ts";
import { compileTemplate } from "./webhook-template.ts";


export class WebhookExistsError extends BatonError {
  override name = "WebhookExistsError";
  constructor(readonly slug: string) {
    super(`slug: a webhook with slug "${slug}" already exists; choose another or delete it first`);
  }
}


/** Managing webhooks, as the CLI does it: on the database, or through the server (which checks templates itself). */
export interface WebhookAdmin {
  create(input: WebhookInput): Promise<Webhook>;
  list(): Promise<Webhook[]>;
  /** False if there was none. */
  delete(slug: string): Promise<boolean>;
}

/** Webhook management on the database: the use case in front of the store. */
export function localWebhookAdmin(webhooks: WebhookStore): WebhookAdmin {
  return { create: (input) => createWebhook(webhooks, input), list: () => webhooks.listWebhooks(), delete: (slug) => webhooks.deleteWebhook(slug) };
}

export async function createWebhook(webhooks: WebhookStore, input: WebhookInput): Promise<Webhook> {
  const slug = input.slug ?? randomBytes(24).toString("base64url");
  if (!WEBHOOK_SLUG.test(slug)) throw new TypeError(`slug must be 16 to 100 letters, digits, _ or - (it is the webhook's secret), got "${slug.slice(0, 120)}"`);
  const name = input.name ?? "webhook";
  if (!name.trim() || name.length > 200) throw new TypeError("name must be 1 to 200 characters");
  await compileTemplate(input.template);
  if (await webhooks.getWebhook(slug)) throw new WebhookExistsError(slug);
  return webhooks.createWebhook({ id: newId(), slug, name, template: input.template, createdAt: Date.now() });
}
