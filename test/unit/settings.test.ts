/** Settings come from the environment, then $BATON_HOME/config.toml, then defaults; each says which. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeSettings, loadSettings, SETTING_ENV } from "../../src/config/settings.ts";

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-settings-"));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("settings", () => {
  it("reads the server's body limit and log level from env, config.toml or defaults", () => {
    fs.writeFileSync(path.join(home, "config.toml"), 'server_body_limit_bytes = 1024\nserver_log_level = "warn"\nthreads = 7\n');
    const fromFile = loadSettings({ BATON_HOME: home });
    expect(fromFile.serverBodyLimitBytes).toEqual({ value: 1024, source: "config" });
    expect(fromFile.serverLogLevel).toEqual({ value: "warn", source: "config" });
    // The engine reads the thread count from the environment only: config.toml is not consulted.
    expect(fromFile.threads).toEqual({ value: os.availableParallelism(), source: "default" });
    expect(fromFile.leaseTtlMs).toEqual({ value: 15_000, source: "default" });

    const fromEnv = loadSettings({ BATON_HOME: home, BATON_SERVER_BODY_LIMIT_BYTES: "2048", BATON_THREADS: "3", BATON_LEASE_TTL_MS: "500" });
    expect(fromEnv.serverBodyLimitBytes).toEqual({ value: 2048, source: "env" });
    expect(fromEnv.threads).toEqual({ value: 3, source: "env" });
    expect(fromEnv.leaseTtlMs).toEqual({ value: 500, source: "env" });

    fs.rmSync(path.join(home, "config.toml"));
    expect(loadSettings({ BATON_HOME: home }).serverBodyLimitBytes).toEqual({ value: 16 * 1024 * 1024, source: "default" });
  });

  it("reads how long to ride out a PostgreSQL outage from env, config.toml or the default", () => {
    fs.writeFileSync(path.join(home, "config.toml"), "database_retry_ms = 5000\n");
    expect(loadSettings({ BATON_HOME: home }).databaseRetryMs).toEqual({ value: 5000, source: "config" });
    expect(loadSettings({ BATON_HOME: home, BATON_DATABASE_RETRY_MS: "250" }).databaseRetryMs).toEqual({ value: 250, source: "env" });
    fs.rmSync(path.join(home, "config.toml"));
    expect(loadSettings({ BATON_HOME: home }).databaseRetryMs).toEqual({ value: 60_000, source: "default" });
    expect(() => loadSettings({ BATON_HOME: home, BATON_DATABASE_RETRY_MS: "soon" })).toThrow(/BATON_DATABASE_RETRY_MS must be a positive integer, got "soon"/);
  });

  it("reads the event retention in days from env, config.toml or the default of 7, fractions allowed", () => {
    fs.writeFileSync(path.join(home, "config.toml"), "event_retention_days = 30\n");
    expect(loadSettings({ BATON_HOME: home }).eventRetentionDays).toEqual({ value: 30, source: "config" });
    expect(loadSettings({ BATON_HOME: home, BATON_EVENT_RETENTION_DAYS: "0.5" }).eventRetentionDays).toEqual({ value: 0.5, source: "env" });
    fs.rmSync(path.join(home, "config.toml"));
    expect(loadSettings({ BATON_HOME: home }).eventRetentionDays).toEqual({ value: 7, source: "default" });
    expect(() => loadSettings({ BATON_HOME: home, BATON_EVENT_RETENTION_DAYS: "0" })).toThrow(/BATON_EVENT_RETENTION_DAYS must be a number greater than 0, got "0"/);
  });

  it("refuses bad values, naming the variable", () => {
    expect(() => loadSettings({ BATON_HOME: home, BATON_SERVER_BODY_LIMIT_BYTES: "lots" })).toThrow(/BATON_SERVER_BODY_LIMIT_BYTES must be a positive integer, got "lots"/);
    expect(() => loadSettings({ BATON_HOME: home, BATON_SERVER_LOG_LEVEL: "loud" })).toThrow(/BATON_SERVER_LOG_LEVEL must be one of/);
    expect(() => loadSettings({ BATON_HOME: home, BATON_THREADS: "0" })).toThrow(/BATON_THREADS must be a positive integer/);
  });

  it("reads BATON_AUTH as on or off, from the environment or config.toml (auth = \"on\")", () => {
    expect(loadSettings({ BATON_HOME: home }).auth).toEqual({ value: false, source: "default" });
    expect(loadSettings({ BATON_HOME: home, BATON_AUTH: "on" }).auth).toEqual({ value: true, source: "env" });
    expect(loadSettings({ BATON_HOME: home, BATON_AUTH: "off" }).auth).toEqual({ value: false, source: "env" });
    fs.writeFileSync(path.join(home, "config.toml"), 'auth = "on"\n');
    expect(loadSettings({ BATON_HOME: home }).auth).toEqual({ value: true, source: "config" });
    fs.writeFileSync(path.join(home, "config.toml"), "auth = true\n");
    expect(loadSettings({ BATON_HOME: home }).auth).toEqual({ value: true, source: "config" });
    fs.rmSync(path.join(home, "config.toml"));
    expect(() => loadSettings({ BATON_HOME: home, BATON_AUTH: "maybe" })).toThrow(/BATON_AUTH must be on or off, got "maybe"/);
  });

  it("describes every BATON_ variable the code reads", () => {
    const described = describeSettings(loadSettings({ BATON_HOME: home })).map((r) => r.env);
    const sources = envNamesIn(path.resolve(import.meta.dirname, "../../src"));
    // Set by a worker for the run processes it starts, not by people; BATON_TEST_* are the
    // tests' fault-injection points.
    const internal = new Set(["BATON_FLOW_RUN_ID", "BATON_WORKER_LIFELINE", "BATON_WORKER_ID"]);
    for (const name of sources) if (!internal.has(name) && !name.startsWith("BATON_TEST_")) expect(described, name).toContain(name);
    expect(Object.values(SETTING_ENV)).toEqual(described);
  });
});

/** Every `process.env.BATON_X` in the sources. */
function envNamesIn(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue;
    const text = fs.readFileSync(path.join(entry.parentPath, entry.name), "utf8");
    for (const match of text.matchAll(/process\.env\.(BATON_[A-Z_]+)/g)) names.add(match[1]!);
  }
  return names;
}
