/**
 * 0006: how many deployment retries a flow run has used (a run that crashes before it starts
 * uses one too, so retries end), and the environment variables a work pool lets its runs set
 * although they change how the runtime loads code (NODE_OPTIONS, LD_PRELOAD, ...: JSON array of
 * names or `PREFIX_*` patterns). Never edit once shipped.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("flow_runs").addColumn("retries_used", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("work_pools").addColumn("allow_env", "text", (c) => c.notNull().defaultTo("[]")).execute();
}
