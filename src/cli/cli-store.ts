/**
 * The store CLI commands work on: the server's API when BATON_API_URL is set, else the database.
 * The admins of webhooks, automations, channels and credentials are imported when opened: a
 * command that lists runs does not load them (each CLI call is a process start).
 */
import { loadSettings } from "../config/settings.ts";
import { ApiClient } from "../client/api-client.ts";
import { RemoteStore } from "../client/remote-store.ts";
import { openStore } from "../store/open.ts";
import type { OrchestrationStore, SchedulerStore } from "../store/types.ts";
import { KyselyStore } from "../store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../store/orchestration-store.ts";
import { RemoteOrchestrationStore } from "../client/remote-orchestration.ts";
import type { WebhookAdmin } from "../server/webhooks.ts";
import type { AutomationAdmin } from "../server/automations.ts";
import type { NotificationChannelAdmin } from "../server/notification-channels.ts";
import { KyselyVariableStore } from "../store/variable-store.ts";
import { KyselySecretStore } from "../store/secret-store.ts";
import { localVariableAdmin, type VariableAdmin } from "../services/variables.ts";
import { SecretVault, type SecretAdmin } from "../services/secrets.ts";
import { RemoteSecrets, RemoteVariables } from "../client/remote-values.ts";
import { loadSecretKey } from "../config/secret-key.ts";
import { storeRefLookup, type RefStores } from "../services/config-refs.ts";
import type { CredentialAdmin } from "../services/credentials.ts";

/** A client of the server, or the database itself: commands that follow events read each its own way. */
export type CliStore = RemoteStore | KyselyStore;

export async function openCliStore(): Promise<CliStore> {
  const settings = loadSettings();
  if (settings.apiUrl.value) {
    const store = new RemoteStore(new ApiClient({ baseUrl: settings.apiUrl.value, apiKey: settings.apiKey.value, maxRetryMs: 5_000, caFile: settings.caFile.value, allowInsecure: settings.allowInsecure.value }));
    await store.ping();
    return store;
  }
  return openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
}

/**
 * Opens something that must be closed (a store, an admin over one), runs `fn` with it and
 * closes it whatever happens: what every command on a store does.
 */
export async function withOpened<R extends { close(): Promise<void> }, T>(open: () => Promise<R>, fn: (opened: R) => Promise<T> | T): Promise<T> {
  const opened = await open();
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/** Runs `fn` with a store and closes it afterwards. */
export function withStore<T>(fn: (store: CliStore) => Promise<T>): Promise<T> {
  return withOpened(openCliStore, fn);
}

/**
 * The store plus the orchestration store (deployments, pools, workers, limits), and on the
 * database the scheduler's writes (behind a server, the server schedules: null).
 */
export async function openOrchestration(): Promise<{ store: CliStore; orchestration: OrchestrationStore; scheduler: SchedulerStore | null; close(): Promise<void> }> {
  const store = await openCliStore();
  const close = () => store.close();
  if (store instanceof RemoteStore) return { store, orchestration: new RemoteOrchestrationStore(store.api), scheduler: null, close };
  const orchestration = new KyselyOrchestrationStore(store);
  return { store, orchestration, scheduler: orchestration, close };
}

/** Webhook management: through the server in remote mode, else on the database. */
export async function openWebhooks(): Promise<{ webhooks: WebhookAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  const webhooks =
    store instanceof RemoteStore
      ? new (await import("../client/remote-webhooks.ts")).RemoteWebhooks(store.api)
      : (await import("../server/webhooks.ts")).localWebhookAdmin(new (await import("../store/webhook-store.ts")).KyselyWebhookStore(store));
  return { webhooks, close: () => store.close() };
}

/** Automation management: through the server in remote mode, else on the database. */
export async function openAutomations(): Promise<{ automations: AutomationAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  let automations: AutomationAdmin;
  if (store instanceof KyselyStore) {
    const [{ localAutomationAdmin }, { KyselyAutomationStore }, { KyselyNotificationChannelStore }] = await Promise.all([
      import("../server/automations.ts"),
      import("../store/automation-store.ts"),
      import("../store/notification-channel-store.ts"),
    ]);
    automations = localAutomationAdmin(new KyselyAutomationStore(store), new KyselyOrchestrationStore(store), new KyselyNotificationChannelStore(store), store);
  } else automations = new (await import("../client/remote-automations.ts")).RemoteAutomations((store as RemoteStore).api);
  return { automations, close: () => store.close() };
}

/** Notification channel management: through the server in remote mode, else on the database (links in test messages point at BATON_PUBLIC_URL). */
export async function openNotificationChannels(): Promise<{ channels: NotificationChannelAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  const publicUrl = loadSettings().publicUrl.value ?? "http://127.0.0.1:4200";
  let channels: NotificationChannelAdmin;
  if (store instanceof KyselyStore) {
    const [{ localNotificationChannelAdmin }, { KyselyNotificationChannelStore }, { KyselyAutomationStore }, { storeChannelValues }] = await Promise.all([
      import("../server/notification-channels.ts"),
      import("../store/notification-channel-store.ts"),
      import("../store/automation-store.ts"),
      import("../server/channel-values.ts"),
    ]);
    // What channels' references name: whether they exist, and their values (secrets opened with this process's key).
    const variables = new KyselyVariableStore(store);
    const vault = new SecretVault(new KyselySecretStore(store), () => loadSecretKey());
    const values = { refs: storeRefLookup(variables, vault.store), read: storeChannelValues(variables, vault) };
    channels = localNotificationChannelAdmin(new KyselyNotificationChannelStore(store), new KyselyAutomationStore(store), () => publicUrl, values);
  } else channels = new (await import("../client/remote-notification-channels.ts")).RemoteNotificationChannels((store as RemoteStore).api);
  return { channels, close: () => store.close() };
}

/** Variables and secrets of `store`: through the server in remote mode, else on the database (secrets sealed with this process's key). */
export function valuesFor(store: CliStore): { variables: VariableAdmin; secrets: SecretAdmin; refs: RefStores } {
  const local = store instanceof KyselyStore;
  const variables = local ? localVariableAdmin(new KyselyVariableStore(store)) : new RemoteVariables((store as RemoteStore).api);
  const secrets = local ? new SecretVault(new KyselySecretStore(store), () => loadSecretKey()) : new RemoteSecrets((store as RemoteStore).api);
  let secretNames: Promise<Set<string>> | null = null;
  const refs: RefStores = {
    hasVariable: async (name) => (await variables.get(name)) !== undefined,
    hasSecret: async (name) => (await (secretNames ??= secrets.list().then((all) => new Set(all.map((s) => s.name))))).has(name),
  };
  return { variables, secrets, refs };
}

/** Variables and secrets with their own store, closed by `close`. */
export async function openValues(): Promise<{ variables: VariableAdmin; secrets: SecretAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  return { ...valuesFor(store), close: () => store.close() };
}

/** API keys and accounts: through the server in remote mode (an admin key), else on the database. */
export async function openCredentials(): Promise<{ credentials: CredentialAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  const credentials =
    store instanceof KyselyStore
      ? (await import("../services/credentials.ts")).localCredentialAdmin(new (await import("../store/credential-store.ts")).KyselyCredentialStore(store))
      : new (await import("../client/remote-credentials.ts")).RemoteCredentials((store as RemoteStore).api);
  return { credentials, close: () => store.close() };
}
