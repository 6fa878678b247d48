/**
 * The server's static API keys (BATON_SERVER_API_KEYS, `role:secret` pairs) and the roles they
 * carry. Until accounts arrive there are two: `admin` may do everything; `worker` may do what a
 * worker and the processes of the runs it claimed need (see access.ts).
 */

export type ApiKeyRole = "admin" | "worker";

/** Who made a request: a key's role, or `anonymous` on the routes that need no key. */
export type CallerRole = ApiKeyRole | "anonymous";

/** Parses `role:secret` (a bare secret is an admin key). */
export function parseApiKeys(keys: readonly string[]): Map<string, ApiKeyRole> {
  const out = new Map<string, ApiKeyRole>();
  for (const entry of keys) {
    const [role, secret] = entry.includes(":") ? (entry.split(/:(.*)/s) as [string, string]) : ["admin", entry];
    if (role !== "admin" && role !== "worker") throw new TypeError(`API key role must be admin or worker, got "${role}"`);
    if (secret.length < 8) throw new TypeError("API keys must be at least 8 characters long");
    out.set(secret, role);
  }
  return out;
}
