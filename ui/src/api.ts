/** The dashboard's view of the API: typed fetches and data hooks that reset when their path changes. */
import { useCallback, useEffect, useRef, useState } from "react";
import { reportUnauthorized } from "./session.ts";

export type { Dependency, FlowRun, LiveEvent, LogLine, State, StateRecord, TaskRun } from "./types.ts";

/** An error answer of the API, with its status (401: the app shows the sign-in page). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function send<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`/api${path}`, init);
  const text = await response.text();
  const body = (text ? JSON.parse(text) : null) as (T & { error?: { message?: string } }) | null;
  if (response.status === 401) reportUnauthorized();
  if (!response.ok) throw new HttpError(response.status, body?.error?.message ?? `HTTP ${response.status}`);
  return body as T;
}

export function get<T>(path: string): Promise<T> {
  return send<T>(path);
}

export function post<T>(path: string, body: unknown = {}): Promise<T> {
  return send<T>(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

export function put<T>(path: string, body: unknown): Promise<T> {
  return send<T>(path, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

export function patch<T>(path: string, body: unknown): Promise<T> {
  return send<T>(path, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

export function del(path: string): Promise<void> {
  return send<void>(path, { method: "DELETE" });
}

/**
 * Data at `path`, fetched again when `reloadKey` changes. When `path` changes the old data is
 * dropped at once (never shown as if it belonged to the new path), and a late answer for an old
 * path is ignored.
 */
export function useData<T>(path: string | null, reloadKey: unknown = 0): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ path: string | null; data: T | null; error: string | null }>({ path: null, data: null, error: null });
  useEffect(() => {
    if (!path) return;
    let live = true;
    get<T>(path).then(
      (data) => live && setState({ path, data, error: null }),
      (e: Error) => live && setState((s) => ({ path, data: s.path === path ? s.data : null, error: e.message })),
    );
    return () => {
      live = false;
    };
  }, [path, reloadKey]);
  return state.path === path ? { data: state.data, error: state.error } : { data: null, error: null };
}

/**
 * A reload counter and a trigger that bumps it at most once per `ms` (the first call at once,
 * calls during the pause coalesced into one at its end): live pages refresh on bursts of events
 * without refetching once per event.
 */
export function useCoalescedReload(ms: number): [number, () => void] {
  const [reload, setReload] = useState(0);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const trigger = useCallback(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      setReload((n) => n + 1);
    }, wait);
  }, [ms]);
  return [reload, trigger];
}

/** Calls `tick` every `ms` while mounted (a fallback for changes no event announces). */
export function useInterval(tick: () => void, ms: number): void {
  const latest = useRef(tick);
  useEffect(() => {
    latest.current = tick;
  });
  useEffect(() => {
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}
