/** The store CLI commands work on: the server's API when BATON_API_URL is set, else the database. */
import { loadSettings } from "../config/settings.ts";
import { ApiClient } from "../client/api-client.ts";
import { RemoteStore } from "../client/remote-store.ts";
import { openStore } from "../store/open.ts";
import type { OrchestrationStore, Store } from "../store/types.ts";
import { KyselyStore } from "../store/kysely-store.ts";
import { KyselyOrchestrationStore } from "../store/orchestration-store.ts";
import { RemoteOrchestrationStore } from "../client/remote-orchestration.ts";
import { RemoteWebhooks } from "../client/remote-webhooks.ts";
import { KyselyWebhookStore } from "../store/webhook-store.ts";
import { localWebhookAdmin, type WebhookAdmin } from "../server/webhooks.ts";
import { RemoteAutomations } from "../client/remote-automations.ts";
import { KyselyAutomationStore } from "../store/automation-store.ts";
import { localAutomationAdmin, type AutomationAdmin } from "../server/automations.ts";
import { KyselyVariableStore } from "../store/variable-store.ts";
import { KyselySecretStore } from "../store/secret-store.ts";
import { localVariableAdmin, type VariableAdmin } from "../server/variables.ts";
import { SecretVault, type SecretAdmin } from "../server/secrets.ts";
import { RemoteSecrets, RemoteVariables } from "../client/remote-values.ts";
import { loadSecretKey } from "../config/secret-key.ts";
import type { RefStores } from "../server/config-refs.ts";

export async function openCliStore(): Promise<Store> {
  const settings = loadSettings();
  if (settings.apiUrl.value) {
    const store = new RemoteStore(new ApiClient({ baseUrl: settings.apiUrl.value, apiKey: settings.apiKey.value, maxRetryMs: 5_000 }));
    await store.migrate();
    return store;
  }
  return openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
}

/** Runs `fn` with a store and closes it afterwards. */
export async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openCliStore();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The store plus the orchestration store (deployments, pools, workers, limits). */
export async function openOrchestration(): Promise<{ store: Store; orchestration: OrchestrationStore; close(): Promise<void> }> {
  const store = await openCliStore();
  const orchestration = store instanceof KyselyStore ? new KyselyOrchestrationStore(store) : new RemoteOrchestrationStore((store as RemoteStore).api);
  return { store, orchestration, close: () => store.close() };
}

/** Webhook management: through the server in remote mode, else on the database. */
export async function openWebhooks(): Promise<{ webhooks: WebhookAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  const webhooks = store instanceof KyselyStore ? localWebhookAdmin(new KyselyWebhookStore(store)) : new RemoteWebhooks((store as RemoteStore).api);
  return { webhooks, close: () => store.close() };
}

/** Automation management: through the server in remote mode, else on the database. */
export async function openAutomations(): Promise<{ automations: AutomationAdmin; close(): Promise<void> }> {
  const store = await openCliStore();
  const automations =
    store instanceof KyselyStore ? localAutomationAdmin(new KyselyAutomationStore(store), new KyselyOrchestrationStore(store)) : new RemoteAutomations((store as RemoteStore).api);
  return { automations, close: () => store.close() };
}

/** Variables and secrets of `store`: through the server in remote mode, else on the database (secrets sealed with this process's key). */
export function valuesFor(store: Store): { variables: VariableAdmin; secrets: SecretAdmin; refs: RefStores } {
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
