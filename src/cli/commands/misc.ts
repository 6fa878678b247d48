/** `baton flow ls`, `baton db upgrade|reset`. */
import fs from "node:fs";
import type { Command } from "commander";
import { sql } from "kysely";
import { BatonError } from "../../core/errors.ts";
import { loadSettings } from "../../config/settings.ts";
import { openStore } from "../../store/open.ts";
import { parseDatabaseUrl } from "../../store/dialect.ts";
import { redactUrl } from "../../core/redact-url.ts";
import { BATON_TABLES, MIGRATION_TABLES } from "../../store/tables.ts";
import { withStore } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

export function registerMisc(program: Command): void {
  program
    .command("flow")
    .description("flows")
    .command("ls")
    .description("list flows")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { limit: string; json?: boolean }) => {
      await withStore(async (store) => {
        const { items: flows, note } = limited(await store.listFlows(), opts.limit);
        if (opts.json) return printJson(flows);
        if (!flows.length) return console.log("No flows yet. Run one with: baton run path/to/flow.ts");
        console.log(table(["id", "name", "created"], flows.map((f) => [f.id, f.name, time(f.createdAt)])));
        note("flows");
      });
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
