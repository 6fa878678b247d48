/**
 * Effective settings and where each came from: the environment (BATON_*), then
 * `$BATON_HOME/config.toml` (the same names in lower case without the prefix, e.g.
 * `database_url = "postgres://..."`), then defaults. `BATON_HOME` (default `~/.baton`) anchors
 * the embedded database, the result files and the config file.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { BatonConfigError } from "../core/errors.ts";
import { redactUrl } from "../core/redact-url.ts";
import { parseResultsUrl } from "../core/result-storage.ts";
import { DEFAULT_DATABASE_RETRY_MS } from "../store/pg-reconnect.ts";

export type SettingSource = "env" | "config" | "default";

export interface Setting<T> {
  value: T;
  source: SettingSource;
}

export interface Settings {
  home: Setting<string>;
  databaseUrl: Setting<string>;
  resultsDir: Setting<string>;
  /** Where large results live: file:///path, db or s3://bucket/prefix (null: the database's default). */
  resultsUrl: Setting<string | null>;
  heartbeatMs: Setting<number>;
  /** Results up to this many bytes are stored inline in the database; larger ones as files. */
  inlineResultBytes: Setting<number>;
  logLevel: Setting<string>;
  /** With it, the SDK and CLI talk to a Baton server instead of opening the database. */
  apiUrl: Setting<string | null>;
  apiKey: Setting<string | null>;
  /** How long the client retries an unreachable server before failing (ms). */
  apiRetryMs: Setting<number>;
  /** How long the store rides out an unreachable or restarting PostgreSQL before failing (ms). */
  databaseRetryMs: Setting<number>;
  /** Server: `role:secret` API keys, comma-separated; any turns authentication on. */
  serverApiKeys: Setting<string[]>;
  /** Server: require a credential (an API key or a dashboard session) on every API route but health and sign-in. */
  auth: Setting<boolean>;
  /** Server: the largest request body accepted (bytes); larger ones get a 413. */
  serverBodyLimitBytes: Setting<number>;
  /** Server: level of its own log (requests, audit lines, background services). */
  serverLogLevel: Setting<string>;
  /** Size of the worker-thread pool of `runner: "threads"` tasks (environment only). */
  threads: Setting<number>;
  /** Task runs of one flow run in flight at once; later calls wait their turn (bounds a fan-out's memory). */
  taskWindow: Setting<number>;
  /** Lifetime of a concurrency-slot lease, renewed every third of it (ms; environment only). */
  leaseTtlMs: Setting<number>;
  /** Scheduler (server, and workers on the database): create runs this far ahead (ms)... */
  scheduleHorizonMs: Setting<number>;
  /** ...and at most this many per schedule; a run not started this long after its slot is Late (ms). */
  scheduleMaxRuns: Setting<number>;
  lateAfterMs: Setting<number>;
  /** Server: events that occurred longer ago than this many days are deleted. */
  eventRetentionDays: Setting<number>;
  /** Server: flow runs in a final state that ended longer ago than this many days are deleted; null keeps them forever. */
  runRetentionDays: Setting<number | null>;
  /** Server: the dashboard's address as people reach it, for the links in notifications (default: the address it listens on). */
  publicUrl: Setting<string | null>;
  /** The key that seals secrets (32 bytes, hex or base64; environment only); null: $BATON_HOME/secret.key. */
  secretKey: Setting<string | null>;
  /** A PEM file of extra certificate authorities clients trust for an https:// BATON_API_URL (a self-signed or private CA). */
  caFile: Setting<string | null>;
  /** Clients may send keys and data over plain http:// to a host that is not this machine (default: refused). */
  allowInsecure: Setting<boolean>;
}

/** Setting names as they appear in the environment; config.toml uses them lower-cased without BATON_. */
export const SETTING_ENV: Record<keyof Settings, string> = {
  home: "BATON_HOME",
  databaseUrl: "BATON_DATABASE_URL",
  resultsDir: "BATON_RESULTS_DIR",
  resultsUrl: "BATON_RESULTS_URL",
  heartbeatMs: "BATON_HEARTBEAT_MS",
  inlineResultBytes: "BATON_INLINE_RESULT_BYTES",
  logLevel: "BATON_LOG_LEVEL",
  apiUrl: "BATON_API_URL",
  apiKey: "BATON_API_KEY",
  apiRetryMs: "BATON_API_RETRY_MS",
  databaseRetryMs: "BATON_DATABASE_RETRY_MS",
  serverApiKeys: "BATON_SERVER_API_KEYS",
  auth: "BATON_AUTH",
  serverBodyLimitBytes: "BATON_SERVER_BODY_LIMIT_BYTES",
  serverLogLevel: "BATON_SERVER_LOG_LEVEL",
  threads: "BATON_THREADS",
  taskWindow: "BATON_TASK_WINDOW",
  leaseTtlMs: "BATON_LEASE_TTL_MS",
  scheduleHorizonMs: "BATON_SCHEDULE_HORIZON_MS",
  scheduleMaxRuns: "BATON_SCHEDULE_MAX_RUNS",
  lateAfterMs: "BATON_LATE_AFTER_MS",
  eventRetentionDays: "BATON_EVENT_RETENTION_DAYS",
  runRetentionDays: "BATON_RUN_RETENTION_DAYS",
  publicUrl: "BATON_PUBLIC_URL",
  secretKey: "BATON_SECRET_KEY",
  caFile: "BATON_CA_FILE",
  allowInsecure: "BATON_ALLOW_INSECURE",
};

/**
 * Settings config.toml cannot hold: BATON_HOME says where config.toml is, the engine reads the
 * thread-pool size and the lease lifetime straight from the environment, and the secret key
 * would sit in clear beside the database it protects.
 */
const ENV_ONLY = new Set<keyof Settings>(["home", "threads", "leaseTtlMs", "secretKey"]);

/** The server's default body limit: 16 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const SECRET_SETTINGS = new Set<keyof Settings>(["apiKey", "serverApiKeys", "secretKey"]);

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new BatonConfigError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A number > 0 (retention in days may be a fraction: 0.5 keeps twelve hours). */
function positiveNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new BatonConfigError(`${name} must be a number greater than 0, got "${raw}"`);
  return value;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

function logLevel(name: string, raw: string): string {
  if (!LOG_LEVELS.includes(raw)) throw new BatonConfigError(`${name} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return raw;
}

/** on/off (also true/false, 1/0, yes/no). */
function onOff(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(value)) return true;
  if (["off", "false", "0", "no"].includes(value)) return false;
  throw new BatonConfigError(`${name} must be on or off, got "${raw}"`);
}

function readConfigFile(home: string): { file: string; values: Record<string, unknown> } {
  const file = path.join(home, "config.toml");
  if (!fs.existsSync(file)) return { file, values: {} };
  try {
    return { file, values: parseToml(fs.readFileSync(file, "utf8")) as Record<string, unknown> };
  } catch (error) {
    throw new BatonConfigError(`${file} is not valid TOML: ${(error as Error).message}`);
  }
}

/** Where config.toml is: in BATON_HOME (default ~/.baton). */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.BATON_HOME ? path.resolve(env.BATON_HOME) : path.join(os.homedir(), ".baton"), "config.toml");
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings & { configFile: string } {
  const envValue = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  const homeRaw = envValue("BATON_HOME");
  const home: Setting<string> = homeRaw ? { value: path.resolve(homeRaw), source: "env" } : { value: path.join(os.homedir(), ".baton"), source: "default" };
  const config = readConfigFile(home.value);

  const setting = <T>(key: keyof Settings, fallback: T, parse: (raw: string) => T): Setting<T> => {
    const name = SETTING_ENV[key];
    const raw = envValue(name);
    if (raw !== undefined) return { value: parse(raw), source: "env" };
    const fromFile = ENV_ONLY.has(key) ? undefined : config.values[name.replace(/^BATON_/, "").toLowerCase()];
    if (fromFile !== undefined) return { value: parse(String(fromFile)), source: "config" };
    return { value: fallback, source: "default" };
  };

  return {
    configFile: config.file,
    home,
    databaseUrl: setting("databaseUrl", `sqlite://${path.join(home.value, "baton.db")}`, (raw) => raw),
    resultsDir: setting("resultsDir", path.join(home.value, "results"), (raw) => path.resolve(raw)),
    resultsUrl: setting<string | null>("resultsUrl", null, (raw) => {
      // Checked here, at startup: an unknown scheme is an UnknownResultStorageError naming it.
      parseResultsUrl(raw, { dialect: "sqlite", resultsDir: "" });
      return raw;
    }),
    heartbeatMs: setting("heartbeatMs", 30_000, (raw) => positiveInt("BATON_HEARTBEAT_MS", raw)),
    inlineResultBytes: setting("inlineResultBytes", 64 * 1024, (raw) => positiveInt("BATON_INLINE_RESULT_BYTES", raw)),
    logLevel: setting("logLevel", "info", (raw) => logLevel("BATON_LOG_LEVEL", raw)),
    apiUrl: setting<string | null>("apiUrl", null, (raw) => {
      if (!/^https?:\/\//.test(raw)) throw new BatonConfigError(`BATON_API_URL must be an http(s) URL such as http://127.0.0.1:4200/api, got "${raw}"`);
      return raw.replace(/\/+$/, "").replace(/\/api$/, "");
    }),
    apiKey: setting<string | null>("apiKey", null, (raw) => raw),
    apiRetryMs: setting("apiRetryMs", 60_000, (raw) => positiveInt("BATON_API_RETRY_MS", raw)),
    databaseRetryMs: setting("databaseRetryMs", DEFAULT_DATABASE_RETRY_MS, (raw) => positiveInt("BATON_DATABASE_RETRY_MS", raw)),
    serverApiKeys: setting<string[]>("serverApiKeys", [], (raw) => raw.split(",").map((s) => s.trim()).filter(Boolean)),
    auth: setting("auth", false, (raw) => onOff("BATON_AUTH", raw)),
    serverBodyLimitBytes: setting("serverBodyLimitBytes", DEFAULT_BODY_LIMIT_BYTES, (raw) => positiveInt("BATON_SERVER_BODY_LIMIT_BYTES", raw)),
    serverLogLevel: setting("serverLogLevel", "info", (raw) => logLevel("BATON_SERVER_LOG_LEVEL", raw)),
    threads: setting("threads", os.availableParallelism(), (raw) => positiveInt("BATON_THREADS", raw)),
    taskWindow: setting("taskWindow", 4096, (raw) => positiveInt("BATON_TASK_WINDOW", raw)),
    leaseTtlMs: setting("leaseTtlMs", 15_000, (raw) => positiveInt("BATON_LEASE_TTL_MS", raw)),
    scheduleHorizonMs: setting("scheduleHorizonMs", 3600_000, (raw) => positiveInt("BATON_SCHEDULE_HORIZON_MS", raw)),
    scheduleMaxRuns: setting("scheduleMaxRuns", 100, (raw) => positiveInt("BATON_SCHEDULE_MAX_RUNS", raw)),
    lateAfterMs: setting("lateAfterMs", 15_000, (raw) => positiveInt("BATON_LATE_AFTER_MS", raw)),
    eventRetentionDays: setting("eventRetentionDays", 7, (raw) => positiveNumber("BATON_EVENT_RETENTION_DAYS", raw)),
    runRetentionDays: setting<number | null>("runRetentionDays", null, (raw) => positiveNumber("BATON_RUN_RETENTION_DAYS", raw)),
    publicUrl: setting<string | null>("publicUrl", null, (raw) => {
      if (!/^https?:\/\/[^/]/.test(raw)) throw new BatonConfigError(`BATON_PUBLIC_URL must be an http(s) URL such as https://baton.example.com, got "${raw}"`);
      return raw.replace(/\/+$/, "");
    }),
    secretKey: setting<string | null>("secretKey", null, (raw) => raw),
    caFile: setting<string | null>("caFile", null, (raw) => path.resolve(raw)),
    allowInsecure: setting("allowInsecure", false, (raw) => {
      if (!["0", "1", "true", "false"].includes(raw)) throw new BatonConfigError(`BATON_ALLOW_INSECURE must be 1 or 0, got "${raw}"`);
      return raw === "1" || raw === "true";
    }),
  };
}

/** The scheduler's settings (how far ahead runs are made, how many per schedule, when they are Late). */
export function schedulerSettings(settings: Settings): { scheduleHorizonMs: number; scheduleMaxRuns: number; lateAfterMs: number } {
  return { scheduleHorizonMs: settings.scheduleHorizonMs.value, scheduleMaxRuns: settings.scheduleMaxRuns.value, lateAfterMs: settings.lateAfterMs.value };
}

/** Settings as displayable rows, secrets masked; `configKey` is null for environment-only ones. */
export function describeSettings(settings: Settings): { name: string; env: string; configKey: string | null; value: string; source: SettingSource }[] {
  return (Object.keys(SETTING_ENV) as (keyof Settings)[]).map((key) => {
    const s = settings[key];
    let value = Array.isArray(s.value) ? s.value.join(",") : s.value === null ? "" : String(s.value);
    if (SECRET_SETTINGS.has(key) && value) value = "********";
    if (key === "databaseUrl") value = redactUrl(value);
    const configKey = ENV_ONLY.has(key) ? null : SETTING_ENV[key].replace(/^BATON_/, "").toLowerCase();
    return { name: key, env: SETTING_ENV[key], configKey, value, source: s.source };
  });
}
