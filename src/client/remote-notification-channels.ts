/** Notification channels over the Baton API (remote mode): the server checks specs, masks settings and sends tests. */
import type { NotificationChannel } from "../store/notification-channel-store.ts";
import type { ChannelTestResult, NotificationChannelAdmin } from "../server/notification-channels.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";

import { z } from "zod";

// Not yet declared in src/schemas: read without checking (being replaced by declared schemas).
const unread = <T>() => z.custom<T>(() => true);
const enc = encodeURIComponent;

export class RemoteNotificationChannels implements NotificationChannelAdmin {
  constructor(private readonly api: ApiClient) {}

  async create(spec: unknown, options: { replace?: boolean } = {}): Promise<NotificationChannel> {
    const name = (spec as { name?: unknown } | null)?.name;
    if (options.replace && typeof name === "string") {
      const replaced = await orUndefined(this.api.request("PUT", `/api/notification-channels/${enc(name)}`, spec, unread<NotificationChannel>()));
      if (replaced) return replaced;
    }
    return this.api.request("POST", "/api/notification-channels", spec, unread<NotificationChannel>());
  }

  async list(): Promise<NotificationChannel[]> {
    return (await this.api.request("GET", "/api/notification-channels", undefined, unread<{ items: NotificationChannel[] }>())).items;
  }

  inspect(idOrName: string): Promise<NotificationChannel | undefined> {
    return orUndefined(this.api.request("GET", `/api/notification-channels/${enc(idOrName)}`, undefined, unread<NotificationChannel>()));
  }

  async delete(idOrName: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/notification-channels/${enc(idOrName)}`).then(() => true))) ?? false;
  }

  test(idOrName: string): Promise<ChannelTestResult | undefined> {
    return orUndefined(this.api.request("POST", `/api/notification-channels/${enc(idOrName)}/test`, undefined, unread<ChannelTestResult>()));
  }
}
