/**
 * The process-wide runtime: opened on first use from the settings (embedded SQLite under
 * BATON_HOME unless BATON_DATABASE_URL says otherwise), closed by `shutdown()`.
 */
import { loadSettings } from "../config/settings.ts";
import { consoleLevelFromName } from "../engine/run-logger.ts";
import { Runtime } from "../engine/runtime.ts";
import { openStore } from "../store/open.ts";

export interface ConfigureOptions {
  /** `sqlite:///path.db` or `postgres://...`; default from BATON_DATABASE_URL or BATON_HOME. */
  databaseUrl?: string;
  resultsDir?: string;
  heartbeatMs?: number;
  /** Console echo level for run logs: trace, debug, info, warn, error, silent. */
  logLevel?: string;
}

let overrides: ConfigureOptions = {};
let current: Promise<Runtime> | null = null;

/** Chooses the store and settings for flows run by this process (call before running flows). */
export async function configure(options: ConfigureOptions): Promise<void> {
  await shutdown();
  overrides = { ...options };
}

export function getRuntime(): Promise<Runtime> {
  current ??= open().catch((error: unknown) => {
    current = null;
    throw error;
  });
  return current;
}

async function open(): Promise<Runtime> {
  const settings = loadSettings();
  const store = await openStore(overrides.databaseUrl ?? settings.databaseUrl.value);
  const runtime = new Runtime({
    store,
    resultsDir: overrides.resultsDir ?? settings.resultsDir.value,
    inlineResultBytes: settings.inlineResultBytes.value,
    heartbeatMs: overrides.heartbeatMs ?? settings.heartbeatMs.value,
    consoleLevel: consoleLevelFromName(overrides.logLevel ?? settings.logLevel.value),
  });
  // Runs left Running by a process that died are marked Crashed, so they can be resumed.
  await store.crashStaleFlowRuns(Date.now());
  return runtime;
}

/** Flushes pending writes, stops the thread pool and closes the store. */
export async function shutdown(): Promise<void> {
  const runtime = current;
  current = null;
  if (runtime) await (await runtime.catch(() => null))?.close();
}
