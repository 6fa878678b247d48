/** Notification channels as the store keeps them (specs as written, settings in clear: masking is for what leaves the server), over Kysely. */
import type { Selectable } from "kysely";
import { NotificationChannelExistsError, type NotificationChannelSpec } from "../core/notification-channels.ts";
import { newId } from "../core/ids.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { NotificationChannelsTable } from "./schema.ts";
import type { Tx } from "./transitions/host.ts";
import type { NotificationChannel } from "../schemas/notification-channel.ts";

export type { NotificationChannel };

export interface NotificationChannelStore {
  /** Stores a checked spec; a NotificationChannelExistsError if the name is taken. */
  createChannel(spec: NotificationChannelSpec): Promise<NotificationChannel>;
  /** Replaces its spec (a new name too); undefined if there is none. */
  replaceChannel(idOrName: string, spec: NotificationChannelSpec): Promise<NotificationChannel | undefined>;
  getChannel(idOrName: string): Promise<NotificationChannel | undefined>;
  listChannels(): Promise<NotificationChannel[]>;
  deleteChannel(idOrName: string): Promise<boolean>;
}

const channelFromRow = (row: Selectable<NotificationChannelsTable>): NotificationChannel => {
  const spec = JSON.parse(row.settings) as { description?: string; settings: Record<string, unknown> };
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    settings: spec.settings,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  } as NotificationChannel;
};

/** The stored column: the settings with the description beside them. */
const settingsColumn = (spec: NotificationChannelSpec) => JSON.stringify({ description: spec.description, settings: spec.settings });

export class KyselyNotificationChannelStore implements NotificationChannelStore {
  constructor(private readonly base: KyselyStore) {}

  private async find(tx: Tx, idOrName: string): Promise<NotificationChannel | undefined> {
    const row = await tx
      .selectFrom("notification_channels")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
      .executeTakeFirst();
    return row ? channelFromRow(row) : undefined;
  }

  async createChannel(spec: NotificationChannelSpec): Promise<NotificationChannel> {
    const now = Date.now();
    const channel = { ...spec, id: newId(), createdAt: now, updatedAt: now } as NotificationChannel;
    await this.base.transaction(async (tx) => {
      if (await this.find(tx, spec.name)) throw new NotificationChannelExistsError(spec.name);
      await tx.insertInto("notification_channels").values({ id: channel.id, name: spec.name, type: spec.type, settings: settingsColumn(spec), created_at: now, updated_at: now }).execute();
    });
    return channel;
  }

  replaceChannel(idOrName: string, spec: NotificationChannelSpec): Promise<NotificationChannel | undefined> {
    return this.base.transaction(async (tx) => {
      const found = await this.find(tx, idOrName);
      if (!found) return undefined;
      if (spec.name !== found.name && (await this.find(tx, spec.name))) throw new NotificationChannelExistsError(spec.name);
      const now = Date.now();
      await tx.updateTable("notification_channels").set({ name: spec.name, type: spec.type, settings: settingsColumn(spec), updated_at: now }).where("id", "=", found.id).execute();
      return { ...spec, id: found.id, createdAt: found.createdAt, updatedAt: now } as NotificationChannel;
    });
  }

  getChannel(idOrName: string): Promise<NotificationChannel | undefined> {
    return this.find(this.base.db, idOrName);
  }

  async listChannels(): Promise<NotificationChannel[]> {
    return (await this.base.db.selectFrom("notification_channels").selectAll().orderBy("name").execute()).map(channelFromRow);
  }

  async deleteChannel(idOrName: string): Promise<boolean> {
    const result = await this.base.db
      .deleteFrom("notification_channels")
      .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
