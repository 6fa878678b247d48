export type * from "./types.ts";
export { openStore } from "./open.ts";
export { KyselyStore } from "./kysely-store.ts";
export { parseDatabaseUrl } from "./dialect.ts";
export { redactUrl } from "../core/redact-url.ts";
