/**
 * Signing in to a server that requires a credential. The browser holds no key: signing in
 * exchanges an API key, or an account's user name and password, for a session cookie the server sets (HttpOnly, so this code never sees it), which every request
 * and event stream then carries. Any answer 401 — never signed in, session expired, signed out
 * in another tab — is reported here, and the app shows the sign-in page until it is done.
 */

export type { SessionInfo } from "./types.ts";

const listeners = new Set<() => void>();

/** Calls `listener` whenever the server answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

export function reportUnauthorized(): void {
  for (const listener of [...listeners]) listener();
}

/** What signs in: an API key, or an account's user name and password. */
export type Credential = { apiKey: string } | { username: string; password: string };

/** Signs in with `credential`: null when it worked, else what to tell the user. */
export async function signIn(credential: Credential): Promise<string | null> {
  const response = await fetch("/api/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(credential) });
  if (response.ok) return null;
  if (response.status === 401) return "apiKey" in credential ? "This API key is not valid on this server." : "Wrong user name or password.";
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `Signing in failed (HTTP ${response.status}).`;
}

/** Ends the session (the server forgets it and removes the cookie), then shows the sign-in page. */
export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE" });
  reportUnauthorized();
}
