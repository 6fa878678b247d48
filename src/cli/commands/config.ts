/** `baton config view|set|unset`: the effective settings, and the keys of config.toml. */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { BatonError } from "../../core/errors.ts";
import { configFilePath, describeSettings, loadSettings } from "../../config/settings.ts";
import { printJson, table } from "../format.ts";

/** A setting as config.toml names it: from its name (heartbeatMs), its key (heartbeat_ms) or its variable (BATON_HEARTBEAT_MS). */
function configKeyOf(given: string): { key: string; env: string } {
  const rows = describeSettings(loadSettingsForNames());
  const row = rows.find((r) => r.name === given || r.configKey === given.toLowerCase() || r.env === given.toUpperCase());
  if (!row) throw new BatonError(`unknown setting "${given}"; config.toml holds: ${rows.flatMap((r) => (r.configKey ? [r.configKey] : [])).join(", ")}`);
  if (!row.configKey) throw new BatonError(`${row.env} is read from the environment only (it cannot go in config.toml)`);
  return { key: row.configKey, env: row.env };
}

/** Settings of defaults only: their names, whatever the environment and config file hold. */
function loadSettingsForNames() {
  return loadSettings({ BATON_HOME: path.join(path.sep, "nonexistent-baton-home") });
}

function readConfig(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  try {
    return parseToml(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new BatonError(`${file} is not valid TOML (${(error as Error).message}); fix or remove it first`);
  }
}

function writeConfig(file: string, values: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, Object.keys(values).length ? `${stringifyToml(values)}\n` : "");
  fs.renameSync(temporary, file);
}

export function registerConfig(program: Command): void {
  const cmd = program.command("config").description("settings: view them, set or unset them in config.toml");
  cmd
    .command("view")
    .description("effective settings and where each came from (env, config file or default)")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) => {
      const settings = loadSettings();
      const rows = describeSettings(settings);
      if (opts.json) return printJson({ configFile: settings.configFile, settings: rows });
      console.log(`config file: ${settings.configFile}${fs.existsSync(settings.configFile) ? "" : " (absent)"}`);
      console.log(table(["setting", "env", "config.toml", "value", "source"], rows.map((r) => [r.name, r.env, r.configKey ?? "(env only)", r.value, r.source])));
    });
  cmd
    .command("set <setting> <value>")
    .description("write a setting to config.toml (by name, config key or variable: api_url, apiUrl, BATON_API_URL); the value is checked first")
    .action((given: string, value: string) => {
      const { key, env } = configKeyOf(given);
      // Checked as the setting reads it: a bad value never reaches the file.
      loadSettings({ ...process.env, [env]: value });
      const file = configFilePath();
      const values = readConfig(file);
      values[key] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      writeConfig(file, values);
      console.log(`Set ${key} in ${file}`);
      if (process.env[env]) process.stderr.write(`Note: ${env} is set in this environment and takes precedence over config.toml\n`);
    });
  cmd
    .command("unset <setting>")
    .description("remove a setting from config.toml (it falls back to its default)")
    .action((given: string) => {
      const { key } = configKeyOf(given);
      const file = configFilePath();
      const values = readConfig(file);
      if (!(key in values)) return console.log(`${key} is not set in ${file}`);
      delete values[key];
      writeConfig(file, values);
      console.log(`Unset ${key} in ${file}`);
    });
}
