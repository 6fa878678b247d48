/** `baton flow ls`, `baton task-run ls`, `baton config view`, `baton db upgrade|reset`. */
import fs from "node:fs";
import type { Command } from "commander";
import { sql } from "kysely";
import { BatonError, RunNotFoundError } from "../../core/errors.ts";
import { describeSettings, loadSettings } from "../../config/settings.ts";
import { openStore } from "../../store/open.ts";
import { parseDatabaseUrl } from "../../store/dialect.ts";
import { redactUrl } from "../../core/redact-url.ts";
import { BATON_TABLES, MIGRATION_TABLES } from "../../store/tables.ts";
import { withStore } from "../cli-store.ts";
import { duration, printJson, stateLabel, table, time } from "../format.ts";

export function registerMisc(program: Command): void {
  program
    .command("flow")
    .description("flows")
    .command("ls")
    .description("list flows")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const flows = await store.listFlows();
        if (opts.json) printJson(flows);
        else if (!flows.length) console.log("No flows yet. Run one with: baton run path/to/flow.ts");
        else console.log(table(["id", "name", "created"], flows.map((f) => [f.id, f.name, time(f.createdAt)])));
      });
    });

  program
    .command("task-run")
    .description("task runs")
    .command("ls")
    .description("list the task runs of a flow run")
    .requiredOption("--flow-run <id>", "the flow run")
    .option("--json", "print JSON")
    .action(async (opts: { flowRun: string; json?: boolean }) => {
      await withStore(async (store) => {
        if (!(await store.getFlowRun(opts.flowRun))) throw new RunNotFoundError("flow run", opts.flowRun);
        const runs = await store.listTaskRuns(opts.flowRun);
        if (opts.json) return printJson(runs);
        console.log(
          table(
            ["id", "key", "state", "attempts", "started", "duration"],
            runs.map((t) => [t.id, t.taskKey, stateLabel(t.state), String(t.runCount), time(t.startTime), duration(t.startTime, t.endTime)]),
          ),
        );
      });
    });

  program
    .command("config")
    .description("settings")
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

  const db = program.command("db").description("the database");
  db.command("upgrade")
    .description("apply pending migrations")
    .action(async () => {
      const settings = loadSettings();
      const store = await openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
      await store.close();
      console.log(`Database ${store.location} is up to date`);
    });
  db.command("reset")
    .description("delete every run, flow, log and deployment (and, on SQLite, the result files), and recreate the schema")
    .option("--yes", "confirm: this deletes everything")
    .action(async (opts: { yes?: boolean }) => {
      const settings = loadSettings();
      const url = settings.databaseUrl.value;
      const parsed = parseDatabaseUrl(url);
      const doomed = parsed.dialect === "sqlite" ? `${parsed.file} and the result files in ${settings.resultsDir.value}` : `Baton's tables in ${redactUrl(url)}`;
      if (!opts.yes) throw new BatonError(`baton db reset deletes every run, flow, log and deployment: ${doomed}; pass --yes to confirm`);
      if (parsed.dialect === "sqlite") {
        for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(parsed.file + suffix, { force: true });
        fs.rmSync(settings.resultsDir.value, { recursive: true, force: true });
      } else {
        // Only Baton's tables: the database (and its public schema) may hold others.
        const store = await openStore(url, { migrate: false, retryMs: settings.databaseRetryMs.value });
        try {
          await sql`drop table if exists ${sql.join([...BATON_TABLES, ...MIGRATION_TABLES].map((t) => sql.table(t)))} cascade`.execute(store.db);
        } finally {
          await store.close();
        }
      }
      const store = await openStore(url, { retryMs: settings.databaseRetryMs.value });
      await store.close();
      console.log(`Reset ${store.location}${parsed.dialect === "sqlite" ? ` and removed ${settings.resultsDir.value}` : ""}`);
    });
}
