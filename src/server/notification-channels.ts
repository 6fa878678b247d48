/**
 * Managing notification channels, the use cases the routes and the CLI share: a spec is checked
 * (core/notification-channels.ts) before anything is stored; what is answered shows the
 * settings masked, whoever asks; a channel an automation notifies cannot be deleted (its
 * notifications would fail for good); and a test sends one message with made-up values now,
 * answering what the channel did or why it failed. The `{{ variables.x }}` and `{{ secrets.x }}`
 * references of a channel's settings must exist when it is stored (an InvalidReferenceError
 * naming the field otherwise); a test resolves them as a notification does (channel-values.ts).
 */
import { BatonError } from "../core/errors.ts";
import { compileChannelSpec, maskChannelSettings, type NotificationChannelSpec } from "../core/notification-channels.ts";
import type { AutomationStore } from "../store/automation-types.ts";
import type { NotificationChannel, NotificationChannelStore } from "../store/notification-channel-store.ts";
import { testNotificationContext, type PublicUrl } from "./notification-context.ts";
import { deliverNotification } from "./notification-delivery.ts";
import type { ChannelValues } from "./channel-values.ts";
import { checkConfigRefs, type RefStores } from "../services/config-refs.ts";
import type { ChannelTestResult } from "../schemas/notification-channel.ts";

/** A channel that automations notify: deleting it would make their notifications fail. */
export class NotificationChannelInUseError extends BatonError {
  override name = "NotificationChannelInUseError";
  constructor(
    readonly channel: string,
    readonly automations: readonly string[],
  ) {
    super(`notification channel "${channel}" is used by automation(s) ${automations.join(", ")}; change or delete them first`);
  }
}

export type { ChannelTestResult } from "../schemas/notification-channel.ts";

/** A channel as it leaves the server: its credentials masked. */
export function maskedChannel(channel: NotificationChannel): NotificationChannel {
  return { ...channel, settings: maskChannelSettings(channel.type, channel.settings as Record<string, unknown>) } as NotificationChannel;
}

/** Managing channels, as the CLI does it: on the database, or through the server. */
export interface NotificationChannelAdmin {
  /** `replace`: a channel of the same name gets this spec. */
  create(spec: unknown, options?: { replace?: boolean }): Promise<NotificationChannel>;
  list(): Promise<NotificationChannel[]>;
  inspect(idOrName: string): Promise<NotificationChannel | undefined>;
  delete(idOrName: string): Promise<boolean>;
  /** Sends a test message now; undefined when there is no such channel. */
  test(idOrName: string): Promise<ChannelTestResult | undefined>;
}

/** The spec checked, its references included; nothing is stored when it is refused. */
async function checkedSpec(refs: RefStores, input: unknown): Promise<NotificationChannelSpec> {
  const spec = compileChannelSpec(input);
  await checkConfigRefs(refs, [{ value: spec.settings, field: "settings", secrets: true }]);
  return spec;
}

export async function createChannel(channels: NotificationChannelStore, refs: RefStores, input: unknown, options: { replace?: boolean } = {}): Promise<NotificationChannel> {
  const spec = await checkedSpec(refs, input);
  if (options.replace) {
    const replaced = await channels.replaceChannel(spec.name, spec);
    if (replaced) return maskedChannel(replaced);
  }
  return maskedChannel(await channels.createChannel(spec));
}

export async function replaceChannel(channels: NotificationChannelStore, refs: RefStores, idOrName: string, input: unknown): Promise<NotificationChannel | undefined> {
  const spec = await checkedSpec(refs, input);
  const replaced = await channels.replaceChannel(idOrName, spec);
  return replaced && maskedChannel(replaced);
}

/** The automations whose actions notify `channel`. */
export async function automationsNotifying(automations: Pick<AutomationStore, "listAutomations">, channel: NotificationChannel): Promise<string[]> {
  return (await automations.listAutomations()).filter((a) => a.spec.actions.some((x) => x.type === "notify" && (x.channel === channel.name || x.channel === channel.id))).map((a) => a.name);
}

export async function deleteChannel(channels: NotificationChannelStore, automations: Pick<AutomationStore, "listAutomations">, idOrName: string): Promise<boolean> {
  const found = await channels.getChannel(idOrName);
  if (!found) return false;
  const users = await automationsNotifying(automations, found);
  if (users.length) throw new NotificationChannelInUseError(found.name, users);
  return channels.deleteChannel(found.id);
}

export async function testChannel(channels: NotificationChannelStore, values: ChannelValues, idOrName: string, publicUrl: PublicUrl): Promise<ChannelTestResult | undefined> {
  const channel = await channels.getChannel(idOrName);
  if (!channel) return undefined;
  const context = testNotificationContext(channel.name, publicUrl);
  const defaults = {
    subject: () => `[Baton] a test of notification channel ${channel.name}`,
    message: () => `This is a test message from Baton, sent by \`baton notification test ${channel.name}\`. Notifications of automations come through this channel.`,
  };
  try {
    return { channel: channel.name, ok: true, result: await deliverNotification(channel, context, {}, "test", values, defaults) };
  } catch (error) {
    return { channel: channel.name, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Channel management on the database. */
export function localNotificationChannelAdmin(
  channels: NotificationChannelStore,
  automations: Pick<AutomationStore, "listAutomations">,
  publicUrl: PublicUrl,
  values: { refs: RefStores; read: ChannelValues },
): NotificationChannelAdmin {
  return {
    create: (spec, options) => createChannel(channels, values.refs, spec, options),
    list: async () => (await channels.listChannels()).map(maskedChannel),
    inspect: async (idOrName) => {
      const found = await channels.getChannel(idOrName);
      return found && maskedChannel(found);
    },
    delete: (idOrName) => deleteChannel(channels, automations, idOrName),
    test: (idOrName) => testChannel(channels, values.read, idOrName, publicUrl),
  };
}
