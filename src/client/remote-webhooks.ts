/** Webhooks over the Baton API (remote mode): the server checks templates and keeps the slugs. */
import type { Webhook } from "../store/types.ts";
import type { WebhookAdmin } from "../server/webhooks.ts";
import type { WebhookInput } from "../schemas/webhook.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";
import { WebhookListSchema, WebhookWithUrlSchema } from "../schemas/webhook.ts";

const enc = encodeURIComponent;

export class RemoteWebhooks implements WebhookAdmin {
  constructor(private readonly api: ApiClient) {}

  create(input: WebhookInput): Promise<Webhook> {
    return this.api.request("POST", "/api/webhooks", input, WebhookWithUrlSchema);
  }

  async list(): Promise<Webhook[]> {
    return (await this.api.request("GET", "/api/webhooks", undefined, WebhookListSchema)).items;
  }

  async delete(slug: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/webhooks/${enc(slug)}`).then(() => true))) ?? false;
  }
}
