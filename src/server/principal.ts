/**
 * Who made a request, as the audit log and access checks name it. Set by access control
 * (access.ts) before any handler runs; every later layer reads `request.principal`.
 */
import { createHash } from "node:crypto";
import type { Permission } from "../core/permissions.ts";
import type { CallerRole } from "./api-keys.ts";
import type { CredentialScope } from "../schemas/credential.ts";

export type PrincipalKind =
  /** No credential: auth is off, or a public route. */
  | "anonymous"
  /** A key from BATON_SERVER_API_KEYS (the server's options). */
  | "static-key"
  /** A stored API key (`baton api-key create`). */
  | "api-key"
  /** An account created by an admin, signed in with a user name and password. */
  | "account";

export interface Principal {
  kind: PrincipalKind;
  /** The key's or account's id; for a static key a short hash of it; null when anonymous. */
  id: string | null;
  /** What people read: the key's or account's name. */
  name: string;
  role: CallerRole;
  /** Permissions a stored key or an account holds on top of its role (absent: none). */
  grants?: readonly Permission[];
  /** A scoped key's pools and deployment tags (absent or null: unscoped). */
  scope?: CredentialScope | null;
}

export const ANONYMOUS: Principal = Object.freeze({ kind: "anonymous", id: null, name: "anonymous", role: "anonymous" });

/** Everyone is an admin when the server requires no key. */
export const OPEN_SERVER_ADMIN: Principal = Object.freeze({ kind: "anonymous", id: null, name: "anonymous", role: "admin" });

/** The id of a static key: a short hash of it (the audit can tell keys apart without holding them), as access.ts names it. */
export function staticKeyId(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}
