/**
 * Signing in to a server with API keys. The browser holds no key: signing in exchanges one for
 * a session cookie the server sets (HttpOnly, so this code never sees it), which every request
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

/** Signs in with `apiKey`: null when it worked, else what to tell the user. */
export async function signIn(apiKey: string): Promise<string | null> {
  const response = await fetch("/api/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiKey }) });
  if (response.ok) return null;
  if (response.status === 401) return "This API key is not valid on this server.";
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `Signing in failed (HTTP ${response.status}).`;
}

/** Ends the session (the server forgets it and removes the cookie), then shows the sign-in page. */
export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE" });
  reportUnauthorized();
}
