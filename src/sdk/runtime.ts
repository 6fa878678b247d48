/**
 * The process-wide runtime: opened on first use from the settings (embedded SQLite under
 * BATON_HOME unless BATON_DATABASE_URL says otherwise), closed by `shutdown()`. Every copy of
 * Baton loaded in the process shares it (engine/process-wide.ts): `configure()` on one copy
 * configures them all, and a flow of one copy run inside a flow run of another is stored in the
 * same database as its parent.
 */
import { loadSettings, type Settings } from "../config/settings.ts";
import { consoleLevelFromName } from "../engine/run-logger.ts";
import { Runtime } from "../engine/runtime.ts";
import { openStore } from "../store/open.ts";
import { ApiClient } from "../client/api-client.ts";
import { RemoteStore } from "../client/remote-store.ts";
import { RemoteOrchestrationStore } from "../client/remote-orchestration.ts";
import { KyselyOrchestrationStore } from "../store/orchestration-store.ts";
import { processWide } from "../engine/process-wide.ts";
import { flushTracing, startTracing } from "../telemetry/tracing.ts";
import { databaseResultStorage, remoteResultStorage } from "../config/result-storage.ts";

const REMOTE_INLINE_RESULT_BYTES = 8 * 1024 * 1024;

export interface ConfigureOptions {
  /** `sqlite:///path.db` or `postgres://...`; default from BATON_DATABASE_URL or BATON_HOME. */
  databaseUrl?: string;
  /** A Baton server's URL (remote mode), e.g. http://127.0.0.1:4200/api; default BATON_API_URL. */
  apiUrl?: string;
  resultsDir?: string;
  heartbeatMs?: number;
  /** Console echo level for run logs: trace, debug, info, warn, error, silent. */
  logLevel?: string;
}

interface SharedRuntime {
  /** What `configure()` chose last. */
  overrides: ConfigureOptions;
  /** The runtime, opening or open; null before first use and after `shutdown()`. */
  current: Promise<Runtime> | null;
}

const shared = processWide(
  "runtime",
  (): SharedRuntime => ({ overrides: {}, current: null }),
  (value): value is SharedRuntime => typeof value === "object" && value !== null && "overrides" in value && "current" in value,
);

/** Chooses the store and settings for flows run by this process (call before running flows). */
export async function configure(options: ConfigureOptions): Promise<void> {
  await shutdown();
  shared.overrides = { ...options };
}

export function getRuntime(): Promise<Runtime> {
  shared.current ??= open().catch((error: unknown) => {
    shared.current = null;
    throw error;
  });
  return shared.current;
}

async function open(): Promise<Runtime> {
  // A flow run from a script (not the CLI) is traced too when the environment asks for it.
  await startTracing();
  const settings = loadSettings();
  const { overrides } = shared;
  const common = {
    heartbeatMs: overrides.heartbeatMs ?? settings.heartbeatMs.value,
    consoleLevel: consoleLevelFromName(overrides.logLevel ?? settings.logLevel.value),
    taskWindow: settings.taskWindow.value,
  };
  const apiUrl = overrides.databaseUrl ? null : (overrides.apiUrl ?? settings.apiUrl.value);
  if (apiUrl) return openRemote(settings, apiUrl, common);
  return openDirect(settings, overrides.databaseUrl ?? settings.databaseUrl.value, { ...common, resultsDir: overrides.resultsDir ?? settings.resultsDir.value });
}

/** The runtime of a process that writes to the database itself. */
async function openDirect(settings: Settings, databaseUrl: string, options: { heartbeatMs: number; consoleLevel: number; taskWindow: number; resultsDir: string }): Promise<Runtime> {
  const { resultsDir, ...common } = options;
  const store = await openStore(databaseUrl, { retryMs: settings.databaseRetryMs.value });
  const orchestration = new KyselyOrchestrationStore(store);
  const results = databaseResultStorage(settings, store, resultsDir);
  const runtime = new Runtime({ ...common, store, databaseUrl, orchestration, scheduler: orchestration, inlineResultBytes: settings.inlineResultBytes.value, resultBlobs: results.blobs, legacyResults: results.legacy });
  // Runs left Running by a process that died are marked Crashed, so they can be resumed.
  // (A server does this itself for its clients.)
  await store.crashStaleFlowRuns(Date.now());
  return runtime;
}

/** The runtime of a client of a Baton server (remote mode): its records land in the server. */
async function openRemote(settings: Settings, apiUrl: string, options: { heartbeatMs: number; consoleLevel: number; taskWindow: number }): Promise<Runtime> {
  const api = new ApiClient({ baseUrl: apiUrl, apiKey: settings.apiKey.value, maxRetryMs: settings.apiRetryMs.value, caFile: settings.caFile.value, allowInsecure: settings.allowInsecure.value });
  const store = new RemoteStore(api);
  await store.ping();
  const blobs = remoteResultStorage(settings, api).blobs;
  return new Runtime({
    ...options,
    store,
    databaseUrl: null,
    orchestration: new RemoteOrchestrationStore(api),
    // The server runs the scheduler for its clients.
    scheduler: null,
    // Large results go where BATON_RESULTS_URL says (through the server with db, or straight to
    // S3); without it they travel inline (the server's body limit is 16 MiB by default): a file
    // here would be out of reach of the server and of workers on other machines.
    resultBlobs: blobs,
    inlineResultBytes: blobs ? settings.inlineResultBytes.value : REMOTE_INLINE_RESULT_BYTES,
  });
}

/** Flushes pending writes, stops the thread pool and closes the store (and sends the spans ended so far, with tracing on). */
export async function shutdown(): Promise<void> {
  const runtime = shared.current;
  shared.current = null;
  if (runtime) await (await runtime.catch(() => null))?.close();
  await flushTracing();
}
