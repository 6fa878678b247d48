/**
 * The use cases of API keys and accounts, shared by the API (routes/credentials.ts) and the CLI
 * on the database (`baton api-key`, `baton account`, `baton server init-admin`): create (a key's
 * secret is returned once), list, revoke a key, delete an account, and the first admin key.
 */
import { newId } from "../core/ids.ts";
import { hashSecret, newApiKey } from "../core/credentials.ts";
import { extraGrants, type Role } from "../core/permissions.ts";
import type { AccountInput, AccountRecord, ApiKeyInput, ApiKeyRecord, CreatedApiKey } from "../schemas/credential.ts";
import type { CredentialStore } from "../store/credential-store.ts";
import { classifyDatabaseError } from "../store/db-errors.ts";
import { ServiceError } from "./errors.ts";

const DAY_MS = 86_400_000;

/** A key named by id, prefix or name that does not exist. */
export class ApiKeyNotFoundError extends ServiceError {
  override name = "ApiKeyNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(readonly idPrefixOrName: string) {
    super(`API key "${idPrefixOrName}" does not exist (name it by its id, its prefix or its name: see baton api-key ls)`);
  }
}

/** A key named by a name that several keys share. */
export class AmbiguousApiKeyError extends ServiceError {
  override name = "AmbiguousApiKeyError";
  readonly reason = "invalid";
  readonly code = "AMBIGUOUS_NAME";
  constructor(
    name: string,
    override readonly details: { ids: string[] },
  ) {
    super(`${details.ids.length} API keys are named "${name}": name the one you mean by its id (${details.ids.join(", ")})`);
  }
}

export class AccountNotFoundError extends ServiceError {
  override name = "AccountNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(readonly account: string) {
    super(`account "${account}" does not exist (see baton account ls)`);
  }
}

export class AccountExistsError extends ServiceError {
  override name = "AccountExistsError";
  readonly reason = "conflict";
  readonly code = "ALREADY_EXISTS";
  constructor(readonly account: string) {
    super(`body.name: an account named "${account}" already exists; pick another name, or delete it first (baton account delete ${account})`);
  }
}

/** Creates a key; its secret is in the answer and nowhere else. */
export async function createApiKey(store: CredentialStore, input: ApiKeyInput, createdBy: string | null, now = Date.now()): Promise<CreatedApiKey> {
  const made = newApiKey();
  const apiKey = await store.insertApiKey({
    id: newId(),
    name: input.name,
    prefix: made.prefix,
    hash: await hashSecret(made.secret),
    role: input.role,
    grants: extraGrants(input.role, input.grants ?? []),
    scope: { pools: input.pools ?? null, deploymentTags: input.deploymentTags ?? null },
    createdAt: now,
    createdBy,
    expiresAt: input.expiresInDays === undefined ? null : now + Math.round(input.expiresInDays * DAY_MS),
  });
  return { key: made.key, apiKey };
}

export async function findApiKey(store: CredentialStore, idPrefixOrName: string): Promise<ApiKeyRecord> {
  const found = await store.findApiKeys(idPrefixOrName);
  if (found.length === 0) throw new ApiKeyNotFoundError(idPrefixOrName);
  if (found.length > 1) throw new AmbiguousApiKeyError(idPrefixOrName, { ids: found.map((k) => k.id) });
  return found[0]!;
}

/** Revokes a key (once: revoking again keeps the first time); returns it as it is now. */
export async function revokeApiKey(store: CredentialStore, idPrefixOrName: string, now = Date.now()): Promise<ApiKeyRecord> {
  const key = await findApiKey(store, idPrefixOrName);
  await store.revokeApiKey(key.id, now);
  return findApiKey(store, key.id);
}

/**
 * The first admin key of a server with authentication on: made when no live key exists and the
 * server has no static keys either; null otherwise. `baton server init-admin` makes one anyway.
 */
export async function firstAdminKey(store: CredentialStore, now = Date.now()): Promise<CreatedApiKey | null> {
  if ((await store.countLiveApiKeys(now)) > 0) return null;
  return createApiKey(store, { name: "first admin", role: "admin" }, null, now);
}

export async function createAccount(store: CredentialStore, input: AccountInput, createdBy: string | null, now = Date.now()): Promise<AccountRecord> {
  if (await store.accountByName(input.name)) throw new AccountExistsError(input.name);
  try {
    return await store.insertAccount({ id: newId(), name: input.name, role: input.role as Role, grants: extraGrants(input.role as Role, input.grants ?? []), passwordHash: await hashSecret(input.password), createdAt: now, createdBy });
  } catch (error) {
    // Two admins creating the same name at once: the unique index decides.
    if (classifyDatabaseError(error)?.kind === "duplicate") throw new AccountExistsError(input.name);
    throw error;
  }
}

export async function deleteAccount(store: CredentialStore, name: string): Promise<void> {
  if (!(await store.deleteAccount(name))) throw new AccountNotFoundError(name);
}

/** What `baton api-key` and `baton account` do, on the database or through the API. */
export interface CredentialAdmin {
  createKey(input: ApiKeyInput): Promise<CreatedApiKey>;
  listKeys(): Promise<ApiKeyRecord[]>;
  revokeKey(idPrefixOrName: string): Promise<ApiKeyRecord>;
  createAccount(input: AccountInput): Promise<AccountRecord>;
  listAccounts(): Promise<AccountRecord[]>;
  deleteAccount(name: string): Promise<void>;
}

/** The use cases over the database (the CLI without BATON_API_URL). */
export function localCredentialAdmin(store: CredentialStore): CredentialAdmin {
  return {
    createKey: (input) => createApiKey(store, input, null),
    listKeys: () => store.listApiKeys(),
    revokeKey: (id) => revokeApiKey(store, id),
    createAccount: (input) => createAccount(store, input, null),
    listAccounts: () => store.listAccounts(),
    deleteAccount: (name) => deleteAccount(store, name),
  };
}
