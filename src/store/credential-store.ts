/**
 * Stored API keys and accounts over Kysely (SQLite and PostgreSQL). Rows hold hashes only
 * (core/credentials.ts); what leaves this file as a record has no hash at all, except the one
 * method authentication calls.
 */
import type { Selectable } from "kysely";
import type { Permission, Role } from "../core/permissions.ts";
import type { AccountRecord, ApiKeyRecord, CredentialScope } from "../schemas/credential.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { AccountsTable, ApiKeysTable } from "./schema.ts";

export type { AccountRecord, ApiKeyRecord, CredentialScope };

/** A key's row as authentication needs it: the record and its hash. */
export interface StoredApiKey extends ApiKeyRecord {
  hash: string;
}

export interface StoredAccount extends AccountRecord {
  passwordHash: string;
}

export interface NewApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  role: Role;
  grants: Permission[];
  scope: CredentialScope;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
}

export interface NewAccountRow {
  id: string;
  name: string;
  role: Role;
  grants: Permission[];
  passwordHash: string;
  createdAt: number;
  createdBy: string | null;
}

export interface CredentialStore {
  insertApiKey(row: NewApiKeyRow): Promise<ApiKeyRecord>;
  /** The key with this prefix, hash included (authentication's lookup). */
  apiKeyByPrefix(prefix: string): Promise<StoredApiKey | undefined>;
  /** By id, prefix or name (a name shared by several keys finds none: the caller must say which). */
  findApiKeys(idPrefixOrName: string): Promise<ApiKeyRecord[]>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Sets `revoked_at` once; false when there is no such key. */
  revokeApiKey(id: string, at: number): Promise<boolean>;
  touchApiKey(id: string, at: number): Promise<void>;
  /** Keys neither revoked nor expired at `now`. */
  countLiveApiKeys(now: number): Promise<number>;
  insertAccount(row: NewAccountRow): Promise<AccountRecord>;
  accountByName(name: string): Promise<StoredAccount | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  deleteAccount(name: string): Promise<boolean>;
  touchAccount(id: string, at: number): Promise<void>;
}

const list = (json: string | null): string[] | null => (json === null ? null : (JSON.parse(json) as string[]));
const grantJson = (grants: readonly Permission[]): string | null => (grants.length ? JSON.stringify(grants) : null);
const time = (value: number | string | null): number | null => (value === null ? null : Number(value));

const apiKeyFromRow = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  role: row.role as Role,
  grants: (list(row.grants) ?? []) as Permission[],
  scope: { pools: list(row.pools), deploymentTags: list(row.deployment_tags) },
  createdAt: Number(row.created_at),
  createdBy: row.created_by,
  expiresAt: time(row.expires_at),
  revokedAt: time(row.revoked_at),
  lastUsedAt: time(row.last_used_at),
});

const accountFromRow = (row: Selectable<AccountsTable>): AccountRecord => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  grants: (list(row.grants) ?? []) as Permission[],
  createdAt: Number(row.created_at),
  createdBy: row.created_by,
  lastSignInAt: time(row.last_sign_in_at),
});

export class KyselyCredentialStore implements CredentialStore {
  constructor(private readonly base: KyselyStore) {}

  private get db() {
    return this.base.db;
  }

  async insertApiKey(row: NewApiKeyRow): Promise<ApiKeyRecord> {
    const values = {
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      hash: row.hash,
      role: row.role,
      pools: row.scope.pools === null ? null : JSON.stringify(row.scope.pools),
      deployment_tags: row.scope.deploymentTags === null ? null : JSON.stringify(row.scope.deploymentTags),
      created_at: row.createdAt,
      created_by: row.createdBy,
      expires_at: row.expiresAt,
      revoked_at: null,
      last_used_at: null,
      grants: grantJson(row.grants),
    };
    await this.db.insertInto("api_keys").values(values).execute();
    return apiKeyFromRow(values);
  }

  async apiKeyByPrefix(prefix: string): Promise<StoredApiKey | undefined> {
    const row = await this.db.selectFrom("api_keys").selectAll().where("prefix", "=", prefix).executeTakeFirst();
    return row ? { ...apiKeyFromRow(row), hash: row.hash } : undefined;
  }

  async findApiKeys(idPrefixOrName: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .selectFrom("api_keys")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", idPrefixOrName), eb("prefix", "=", idPrefixOrName), eb("name", "=", idPrefixOrName)]))
      .execute();
    // An exact id or prefix wins over names.
    const exact = rows.filter((r) => r.id === idPrefixOrName || r.prefix === idPrefixOrName);
    return (exact.length ? exact : rows).map(apiKeyFromRow);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.db.selectFrom("api_keys").selectAll().orderBy("created_at").orderBy("id").execute()).map(apiKeyFromRow);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const found = await this.db.selectFrom("api_keys").select("id").where("id", "=", id).executeTakeFirst();
    if (!found) return false;
    await this.db.updateTable("api_keys").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
    return true;
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    await this.db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
  }

  async countLiveApiKeys(now: number): Promise<number> {
    const row = await this.db
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertAccount(row: NewAccountRow): Promise<AccountRecord> {
    const values = {
      id: row.id,
      name: row.name,
      role: row.role,
      password_hash: row.passwordHash,
      created_at: row.createdAt,
      created_by: row.createdBy,
      last_sign_in_at: null,
      grants: grantJson(row.grants),
    };
    await this.db.insertInto("accounts").values(values).execute();
    return accountFromRow(values);
  }

  async accountByName(name: string): Promise<StoredAccount | undefined> {
    const row = await this.db.selectFrom("accounts").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? { ...accountFromRow(row), passwordHash: row.password_hash } : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.db.selectFrom("accounts").selectAll().orderBy("name").execute()).map(accountFromRow);
  }

  async deleteAccount(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("accounts").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async touchAccount(id: string, at: number): Promise<void> {
    await this.db.updateTable("accounts").set({ last_sign_in_at: at }).where("id", "=", id).execute();
  }
}
