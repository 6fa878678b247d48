/**
 * Effective settings and where each came from. Read from the environment, falling back to
 * defaults; `BATON_HOME` (default `~/.baton`) anchors the embedded database and result files.
 */
import os from "node:os";
import path from "node:path";
import { BatonConfigError } from "../core/errors.ts";

export type SettingSource = "env" | "default";

export interface Setting<T> {
  value: T;
  source: SettingSource;
}

export interface Settings {
  home: Setting<string>;
  databaseUrl: Setting<string>;
  resultsDir: Setting<string>;
  heartbeatMs: Setting<number>;
  /** Results up to this many bytes are stored inline in the database; larger ones as files. */
  inlineResultBytes: Setting<number>;
  logLevel: Setting<string>;
  apiUrl: Setting<string | null>;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new BatonConfigError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const setting = <T>(name: string, fallback: T, parse: (raw: string) => T): Setting<T> => {
    const raw = fromEnv(env, name);
    return raw === undefined ? { value: fallback, source: "default" } : { value: parse(raw), source: "env" };
  };
  const home = setting("BATON_HOME", path.join(os.homedir(), ".baton"), (raw) => path.resolve(raw));
  return {
    home,
    databaseUrl: setting("BATON_DATABASE_URL", `sqlite://${path.join(home.value, "baton.db")}`, (raw) => raw),
    resultsDir: setting("BATON_RESULTS_DIR", path.join(home.value, "results"), (raw) => path.resolve(raw)),
    heartbeatMs: setting("BATON_HEARTBEAT_MS", 30_000, (raw) => positiveInt("BATON_HEARTBEAT_MS", raw)),
    inlineResultBytes: setting("BATON_INLINE_RESULT_BYTES", 64 * 1024, (raw) => positiveInt("BATON_INLINE_RESULT_BYTES", raw)),
    logLevel: setting("BATON_LOG_LEVEL", "info", (raw) => {
      if (!LOG_LEVELS.includes(raw)) throw new BatonConfigError(`BATON_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
      return raw;
    }),
    apiUrl: setting<string | null>("BATON_API_URL", null, (raw) => raw),
  };
}
