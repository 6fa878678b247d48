/**
 * The environment a worker gives each run's process so it reaches the same store: the API (URL
 * and key) or the database. Paths are made absolute: a run's process may start in another
 * directory (job variable `cwd`), where a relative SQLite path would name another file.
 */
import { parseDatabaseUrl } from "../store/dialect.ts";

/** Names the flow file a worker's warm spare pre-imports before it is handed a run (cli/spare.ts). */
export const SPARE_ENTRYPOINT_ENV = "BATON_SPARE_ENTRYPOINT";

export type RunTarget = { apiUrl: string; apiKey: string | null; caFile?: string | null } | { databaseUrl: string; home: string; resultsDir: string };

export function runEnvironment(target: RunTarget): Record<string, string> {
  if ("apiUrl" in target) return { BATON_API_URL: target.apiUrl, ...(target.apiKey ? { BATON_API_KEY: target.apiKey } : {}), ...(target.caFile ? { BATON_CA_FILE: target.caFile } : {}) };
  const database = parseDatabaseUrl(target.databaseUrl);
  return {
    BATON_DATABASE_URL: database.dialect === "sqlite" && database.file !== ":memory:" ? `sqlite://${database.file}` : target.databaseUrl,
    BATON_HOME: target.home,
    BATON_RESULTS_DIR: target.resultsDir,
  };
}
