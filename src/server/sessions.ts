/**
 * Dashboard sessions. A browser cannot attach an Authorization header to an EventSource or to
 * the page loads of a dashboard, so it signs in once with an API key or an account's password
 * (POST /api/session) and gets a cookie instead. The cookie holds a random token, never the key:
 * the server keeps token → principal (who, with which role and scope) in memory, so signing out
 * ends the session at once, revoking a key or deleting an account ends its sessions on this
 * server, and a restart ends them all
 * (people sign in again). Each server process has its own sessions: behind a load balancer over
 * several servers, pin dashboard users to one.
 */
import { randomBytes } from "node:crypto";
import type { Principal } from "./principal.ts";

export const SESSION_COOKIE = "baton_session";

/** How long a session lasts: a working day. A stolen cookie is worth that much at most. */
export const SESSION_TTL_MS = 12 * 3600_000;

interface Session {
  principal: Principal;
  expiresAt: number;
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    /** Sessions kept at most; the oldest go first (an attacker signing in in a loop cannot grow memory). */
    private readonly capacity = 10_000,
  ) {}

  /** A new session's token (32 random bytes, URL-safe). */
  open(principal: Principal, now = Date.now()): string {
    const token = randomBytes(32).toString("base64url");
    this.sessions.set(token, { principal, expiresAt: now + this.ttlMs });
    while (this.sessions.size > this.capacity) this.sessions.delete(this.sessions.keys().next().value!);
    return token;
  }

  /** Who holds a live session, or null (unknown, expired or signed out). */
  principalOf(token: string, now = Date.now()): Principal | null {
    const session = this.sessions.get(token);
    if (!session) return null;
    if (session.expiresAt <= now) {
      this.sessions.delete(token);
      return null;
    }
    return session.principal;
  }

  close(token: string): void {
    this.sessions.delete(token);
  }

  /** Ends every session of a key or account (`kind` and `id` of its principal): it was revoked or deleted. */
  closeAllOf(kind: Principal["kind"], id: string): void {
    for (const [token, session] of this.sessions) if (session.principal.kind === kind && session.principal.id === id) this.sessions.delete(token);
  }

  get lifetimeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}

/** The session token in a Cookie header, if there is one (`a=1; baton_session=TOKEN; b=2`). */
export function sessionToken(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  for (const pair of cookieHeader.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === SESSION_COOKIE) return pair.slice(eq + 1).trim() || null;
  }
  return null;
}

/**
 * The Set-Cookie value of a session (or, with `token: null`, of its removal). HttpOnly: page
 * scripts cannot read it; SameSite=Strict: other sites' pages cannot make the browser send it;
 * Secure when the dashboard was reached over HTTPS (a cookie marked Secure is dropped over
 * plain HTTP, so it cannot be set on a local http:// server).
 */
export function sessionCookie(token: string | null, options: { secure: boolean; maxAgeSeconds: number }): string {
  const parts = [`${SESSION_COOKIE}=${token ?? ""}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${token === null ? 0 : options.maxAgeSeconds}`];
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}
