/**
 * Who a credential is: a static key (BATON_SERVER_API_KEYS), a stored key (`baton_…`, checked
 * against its scrypt hash) or an account's name and password. Stored keys are the hot path of
 * remote workers (every batch and heartbeat carries one), and scrypt costs ~50 ms: a verified key
 * is kept for `cacheMs` under the SHA-256 of its text (the cache holds no key), so a worker pays
 * the hash once a minute. Revoking through this server forgets it at once; other servers notice
 * within `cacheMs`. Expiry is checked on every request, cached or not. The time a key was last
 * used is written at most once per `touchEveryMs`, after the answer, never holding a request up.
 */
import { createHash } from "node:crypto";
import { hashSecret, parseApiKey, verifySecret } from "../core/credentials.ts";
import type { CredentialStore } from "../store/credential-store.ts";
import type { ApiKeyRole } from "./api-keys.ts";
import { staticKeyId, type Principal } from "./principal.ts";

interface CachedKey {
  principal: Principal;
  expiresAt: number | null;
  cachedUntil: number;
}

export interface AuthenticatorOptions {
  /** How long a verified stored key is trusted without reading its row again (ms). */
  cacheMs: number;
  /** How often a key's last-used time is written at most (ms). */
  touchEveryMs: number;
  /** Keys cached at most. */
  capacity: number;
  /** Where a failed last-used write is reported. */
  onError: (error: unknown) => void;
}

const DEFAULTS: AuthenticatorOptions = { cacheMs: 60_000, touchEveryMs: 60_000, capacity: 10_000, onError: () => undefined };

const digest = (text: string) => createHash("sha256").update(text).digest("base64url");

export class Authenticator {
  private readonly staticIds: Map<string, string>;
  private readonly cache = new Map<string, CachedKey>();
  private readonly verifying = new Map<string, Promise<Principal | null>>();
  /** Counts revocations through this server (see `verify`). */
  private revocations = 0;
  private readonly touched = new Map<string, number>();
  private readonly options: AuthenticatorOptions;
  /** Checked when no account has the name, so that an unknown name costs as long as a wrong password (no name probing by timing). */
  private decoy: Promise<string> | null = null;

  constructor(
    private readonly staticKeys: ReadonlyMap<string, ApiKeyRole>,
    private readonly store: CredentialStore,
    options: Partial<AuthenticatorOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    // A static key is named by a short hash of it: the audit can tell keys apart without holding them.
    this.staticIds = new Map([...staticKeys.keys()].map((key) => [key, staticKeyId(key)]));
  }

  /** The principal of a static key, synchronously (no I/O), or undefined when `text` is not one. */
  staticKey(text: string): Principal | undefined {
    const role = this.staticKeys.get(text);
    if (!role) return undefined;
    const id = this.staticIds.get(text)!;
    return { kind: "static-key", id, name: `${role} key ${id}`, role, scope: null };
  }

  /** Whether `text` has the shape of a stored key (then `storedKey` decides). */
  looksStored(text: string): boolean {
    return parseApiKey(text) !== null;
  }

  /** The principal of a live stored key, or null (unknown, wrong secret, revoked or expired). */
  async storedKey(text: string, now = Date.now()): Promise<Principal | null> {
    const parsed = parseApiKey(text);
    if (!parsed) return null;
    const cacheKey = digest(text);
    const cached = this.cache.get(cacheKey);
    if (cached && cached.cachedUntil > now) {
      if (cached.expiresAt !== null && cached.expiresAt <= now) return null;
      this.touch(cached.principal.id!, now);
      return cached.principal;
    }
    this.cache.delete(cacheKey);
    // A worker starting sends several requests at once: they share one verification.
    let pending = this.verifying.get(cacheKey);
    if (!pending) {
      pending = this.verify(parsed, cacheKey, now).finally(() => this.verifying.delete(cacheKey));
      this.verifying.set(cacheKey, pending);
    }
    return pending;
  }

  private async verify(parsed: { prefix: string; secret: string }, cacheKey: string, now: number): Promise<Principal | null> {
    const revocations = this.revocations;
    const row = await this.store.apiKeyByPrefix(parsed.prefix);
    if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return null;
    if (!(await verifySecret(parsed.secret, row.hash))) return null;
    const principal: Principal = { kind: "api-key", id: row.id, name: row.name, role: row.role, grants: row.grants, scope: row.scope };
    // A key revoked while its row was being read is not cached from that (older) row.
    if (revocations !== this.revocations) return principal;
    this.cache.set(cacheKey, { principal, expiresAt: row.expiresAt, cachedUntil: now + this.options.cacheMs });
    while (this.cache.size > this.options.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.touch(row.id, now);
    return principal;
  }

  /** The principal of an account whose password is `password`, or null. */
  async account(name: string, password: string, now = Date.now()): Promise<Principal | null> {
    const account = await this.store.accountByName(name);
    if (!account) {
      await verifySecret(password, await (this.decoy ??= hashSecret("no such account")));
      return null;
    }
    if (!(await verifySecret(password, account.passwordHash))) return null;
    this.store.touchAccount(account.id, now).catch(this.options.onError);
    return { kind: "account", id: account.id, name: account.name, role: account.role, grants: account.grants, scope: null };
  }

  /** A key was revoked through this server: it stops working here at once. */
  forgetKey(id: string): void {
    this.revocations++;
    for (const [cacheKey, cached] of this.cache) if (cached.principal.id === id) this.cache.delete(cacheKey);
    this.touched.delete(id);
  }

  private touch(id: string, now: number): void {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < this.options.touchEveryMs) return;
    this.touched.set(id, now);
    while (this.touched.size > this.options.capacity) this.touched.delete(this.touched.keys().next().value!);
    this.store.touchApiKey(id, now).catch(this.options.onError);
  }
}
