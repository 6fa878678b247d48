/**
 * Variables and secrets in code: `getVariable`, `setVariable`, `getSecret`. On the database
 * (direct mode) they read and write it, secrets opened with this process's key
 * (BATON_SECRET_KEY or $BATON_HOME/secret.key); in remote mode (BATON_API_URL) they go through
 * the server, where a worker key reads only the secrets its run's job variables reference.
 * A value read with `getSecret` is redacted (`***`) from this process's run logs and error
 * messages from then on.
 *
 * @example
 * import { flow, getSecret, getVariable } from "baton";
 * export const sync = flow(async function sync() {
 *   const region = await getVariable("region", "eu-west-1");
 *   const token = await getSecret("warehouse-token");
 *   // ... connect with token in region
 * });
 */
import { loadSecretKey } from "../config/secret-key.ts";
import { registerRedacted } from "../core/redaction.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import type { Runtime } from "../engine/runtime.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import type { RemoteStore } from "../client/remote-store.ts";
import { KyselyVariableStore } from "../store/variable-store.ts";
import { KyselySecretStore } from "../store/secret-store.ts";
import { RemoteSecrets, RemoteVariables } from "../client/remote-values.ts";
import { localVariableAdmin, type VariableAdmin } from "../services/variables.ts";
import { SecretVault, type SecretReader } from "../services/secrets.ts";
import { getRuntime } from "./runtime.ts";

interface ValueAccess {
  variables: VariableAdmin;
  secrets: SecretReader;
}

const access = new WeakMap<Runtime, ValueAccess>();

/** The runtime's variables and secrets: its database, or its server. */
async function valuesOf(): Promise<ValueAccess> {
  const runtime = await getRuntime();
  let found = access.get(runtime);
  if (!found) {
    // Not `instanceof`: the runtime may have been opened by another copy of Baton (process-wide.ts).
    if (runtime.databaseUrl) {
      const base = runtime.store as KyselyStore;
      found = { variables: localVariableAdmin(new KyselyVariableStore(base)), secrets: new SecretVault(new KyselySecretStore(base), () => loadSecretKey()) };
    } else {
      const api = (runtime.store as RemoteStore).api;
      found = { variables: new RemoteVariables(api), secrets: new RemoteSecrets(api) };
    }
    access.set(runtime, found);
  }
  return found;
}

/**
 * The value of variable `name`; `defaultValue` when there is none (without one, a missing
 * variable is an error naming it).
 */
export async function getVariable<T = unknown>(name: string, defaultValue?: T): Promise<T> {
  const found = await (await valuesOf()).variables.get(name);
  if (found) return found.value as T;
  if (arguments.length >= 2) return defaultValue as T;
  throw new TypeError(`getVariable("${name}"): variable "${name}" does not exist; set it with: baton variable set ${name} VALUE, or pass a default`);
}

/** Whether variable `name` exists (on the database or the server). */
export async function variableExists(name: string): Promise<boolean> {
  return (await (await valuesOf()).variables.get(name)) !== undefined;
}

/** Creates or replaces variable `name` (any JSON value); `tags` replace its tags. */
export async function setVariable(name: string, value: unknown, options: { tags?: string[] } = {}): Promise<void> {
  await (await valuesOf()).variables.set({ name, value, tags: options.tags });
}

/**
 * The value of secret `name`. Inside a run, the server is told which run reads it (a worker
 * key may read only what the run's job variables reference); the value is redacted from the
 * run's logs and errors.
 */
export async function getSecret(name: string): Promise<string> {
  const flowRunId = currentEngineContext()?.flow.flowRun.id ?? process.env.BATON_FLOW_RUN_ID ?? null;
  const value = await (await valuesOf()).secrets.reveal(name, flowRunId);
  registerRedacted(value);
  return value;
}
