/**
 * 0018: permissions granted to a key or an account on top of its role (issue 11: a viewer reads
 * no results "unless granted"). A JSON array of permission names, or null (none). Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_keys").addColumn("grants", "text").execute();
  await db.schema.alterTable("accounts").addColumn("grants", "text").execute();
}
