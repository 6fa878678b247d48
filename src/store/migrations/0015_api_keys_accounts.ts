/**
 * 0015: stored API keys and accounts (issue 11). A key is kept as its public prefix (unique: the
 * lookup) and the scrypt hash of its secret, never the secret; its scope (pools, deployment tags)
 * as JSON arrays or null. An account is a unique name, a role and the scrypt hash of its
 * password. Revoking a key sets `revoked_at` (the row stays, for the audit); `last_used_at` is
 * written at most once a minute per key. Never edit.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull().unique())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("pools", "text")
    .addColumn("deployment_tags", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("expires_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("last_used_at", "bigint")
    .execute();
  await db.schema
    .createTable("accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("last_sign_in_at", "bigint")
    .execute();
}
