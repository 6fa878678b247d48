/**
 * What the signed-in caller may do: the permissions `GET /api/session` lists (the server's role
 * table, core/permissions.ts). Pages show an action only when `can` says so, so a viewer sees no
 * button the server would refuse; the server checks every call regardless. The app publishes the
 * session's permissions here once it has them; until then nothing is offered.
 */
import { useEffect, useSyncExternalStore } from "react";
import type { Permission } from "../../src/core/permissions.ts";
import type { SessionInfo } from "./types.ts";

let permissions: ReadonlySet<string> | null = null;
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** Publishes the session's permissions (null: signed out or not known yet). */
export function usePublishPermissions(session: SessionInfo | null): void {
  useEffect(() => {
    permissions = session ? new Set(session.permissions ?? []) : null;
    for (const listener of [...listeners]) listener();
  }, [session]);
}

export function useCan(): (permission: Permission) => boolean {
  const current = useSyncExternalStore(subscribe, () => permissions);
  return (permission) => current?.has(permission) ?? false;
}
