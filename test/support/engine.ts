/**
 * The SDK's runtime configured on a fresh backend with its own results directory: a database
 * of one dialect, or "remote" — a real Baton server, in this process, on a fresh SQLite
 * database, with the runtime its client (remote mode). The engine's suites run on every
 * backend: the API client is held to what the database stores do (a contract test).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { configure, shutdown } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { buildServer } from "../../src/server/app.ts";
import { openStore } from "../../src/store/open.ts";
import type { RunStore } from "../../src/store/types.ts";
import { DIALECTS, freshDatabaseUrl, type TestDialect } from "./databases.ts";

export const ENGINE_BACKENDS = [...DIALECTS, "remote"] as const;
export type EngineBackend = TestDialect | "remote";

export interface EngineDatabase {
  /** The runtime's store: the database's, or the API client's on "remote". */
  store: RunStore;
  /** Where large results are written; null on "remote", where they travel to the server inline. */
  resultsDir: string | null;
  /** Shuts the runtime (and the server) down and removes the database and the results. */
  close(): Promise<void>;
}

/** On a database: where large results go is known. */
export interface DatabaseEngine extends EngineDatabase {
  resultsDir: string;
}

export async function configureEngine(backend: TestDialect): Promise<DatabaseEngine>;
export async function configureEngine(backend: EngineBackend): Promise<EngineDatabase>;
export async function configureEngine(backend: EngineBackend): Promise<EngineDatabase> {
  if (backend === "remote") return configureRemote();
  const db = await freshDatabaseUrl(backend);
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

/** A server listening on a loopback port over a fresh SQLite database, and the runtime its client. */
async function configureRemote(): Promise<EngineDatabase> {
  const db = await freshDatabaseUrl("sqlite");
  const serverStore = await openStore(db.url);
  const server = await buildServer({ store: serverStore, eventPollMs: 50 });
  const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
  await configure({ apiUrl: `${address}/api`, logLevel: "silent" });
  return {
    store: (await getRuntime()).store,
    resultsDir: null,
    async close() {
      await shutdown();
      await server.close();
      await serverStore.close();
      await db.cleanup();
    },
  };
}
