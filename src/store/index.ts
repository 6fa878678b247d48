export type * from "./types.ts";
export { openStore } from "./open.ts";
export { KyselyStore } from "./kysely-store.ts";
export { parseDatabaseUrl, redactUrl } from "./dialect.ts";
