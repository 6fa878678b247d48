/**
 * The server's static API keys (BATON_SERVER_API_KEYS, `role:secret` pairs) and the roles a
 * caller may carry. Static keys predate stored keys (`baton api-key create`) and work as they
 * did: their role is any of core/permissions.ts's (admin and worker in practice).
 */
import { isRole, ROLE_NAMES, type Role } from "../core/permissions.ts";

/** A key's or account's role. */
export type ApiKeyRole = Role;

/** Who made a request: a credential's role, or `anonymous` on the routes that need none. */
export type CallerRole = ApiKeyRole | "anonymous";

/** Parses `role:secret` (a bare secret is an admin key). */
export function parseApiKeys(keys: readonly string[]): Map<string, ApiKeyRole> {
  const out = new Map<string, ApiKeyRole>();
  for (const entry of keys) {
    const [role, secret] = entry.includes(":") ? (entry.split(/:(.*)/s) as [string, string]) : ["admin", entry];
    if (!isRole(role)) throw new TypeError(`API key role must be one of ${ROLE_NAMES.join(", ")}, got "${role}"`);
    if (secret.length < 8) throw new TypeError("API keys must be at least 8 characters long");
    out.set(secret, role);
  }
  return out;
}
