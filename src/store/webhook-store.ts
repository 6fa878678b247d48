/** Webhooks over Kysely (SQLite and PostgreSQL): one row each, found by slug. */
import type { Selectable } from "kysely";
import type { KyselyStore } from "./kysely-store.ts";
import type { WebhooksTable } from "./schema.ts";
import type { Webhook, WebhookStore } from "./types.ts";

const webhookFromRow = (row: Selectable<WebhooksTable>): Webhook => ({ id: row.id, slug: row.slug, name: row.name, template: row.template, createdAt: Number(row.created_at) });

export class KyselyWebhookStore implements WebhookStore {
  constructor(private readonly base: KyselyStore) {}

  async createWebhook(webhook: Webhook): Promise<Webhook> {
    await this.base.db.insertInto("webhooks").values({ id: webhook.id, slug: webhook.slug, name: webhook.name, template: webhook.template, created_at: webhook.createdAt }).execute();
    return webhook;
  }

  async listWebhooks(): Promise<Webhook[]> {
    return (await this.base.db.selectFrom("webhooks").selectAll().orderBy("created_at").orderBy("slug").execute()).map(webhookFromRow);
  }

  async getWebhook(slug: string): Promise<Webhook | undefined> {
    const row = await this.base.db.selectFrom("webhooks").selectAll().where("slug", "=", slug).executeTakeFirst();
    return row ? webhookFromRow(row) : undefined;
  }

  async deleteWebhook(slug: string): Promise<boolean> {
    const result = await this.base.db.deleteFrom("webhooks").where("slug", "=", slug).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
