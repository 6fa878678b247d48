/** Notification channels over the Baton API (remote mode): the server checks specs, masks settings and sends tests. */
import type { NotificationChannel } from "../store/notification-channel-store.ts";
import type { ChannelTestResult, NotificationChannelAdmin } from "../server/notification-channels.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";
import { ChannelTestResultSchema, NotificationChannelListSchema, NotificationChannelSchema } from "../schemas/notification-channel.ts";
const enc = encodeURIComponent;

export class RemoteNotificationChannels implements NotificationChannelAdmin {
  constructor(private readonly api: ApiClient) {}

  async create(spec: unknown, options: { replace?: boolean } = {}): Promise<NotificationChannel> {
    const name = (spec as { name?: unknown } | null)?.name;
    if (options.replace && typeof name === "string") {
      const replaced = await orUndefined(this.api.request("PUT", `/api/notification-channels/${enc(name)}`, spec, NotificationChannelSchema));
      if (replaced) return replaced;
    }
    return this.api.request("POST", "/api/notification-channels", spec, NotificationChannelSchema);
  }

  async list(): Promise<NotificationChannel[]> {
    return (await this.api.request("GET", "/api/notification-channels", undefined, NotificationChannelListSchema)).items;
  }

  inspect(idOrName: string): Promise<NotificationChannel | undefined> {
    return orUndefined(this.api.request("GET", `/api/notification-channels/${enc(idOrName)}`, undefined, NotificationChannelSchema));
  }

  async delete(idOrName: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/notification-channels/${enc(idOrName)}`).then(() => true))) ?? false;
  }

  test(idOrName: string): Promise<ChannelTestResult | undefined> {
    return orUndefined(this.api.request("POST", `/api/notification-channels/${enc(idOrName)}/test`, undefined, ChannelTestResultSchema));
  }
}
