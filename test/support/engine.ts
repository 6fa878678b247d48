/** The SDK's runtime configured on a fresh database of one dialect, with its own results directory. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { configure, shutdown } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import type { Store } from "../../src/store/types.ts";
import { freshDatabaseUrl, type TestDialect } from "./databases.ts";

export interface EngineDatabase {
  store: Store;
  resultsDir: string;
  /** Shuts the runtime down and removes the database and the results. */
  close(): Promise<void>;
}

export async function configureEngine(dialect: TestDialect): Promise<EngineDatabase> {
  const db = await freshDatabaseUrl(dialect);
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-results-"));
  await configure({ databaseUrl: db.url, resultsDir, logLevel: "silent" });
  return {
    store: (await getRuntime()).store,
    resultsDir,
    async close() {
      await shutdown();
      await db.cleanup();
      fs.rmSync(resultsDir, { recursive: true, force: true });
    },
  };
}
