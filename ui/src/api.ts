/** The dashboard's view of the API: typed fetches and a live event subscription (SSE). */
import { useEffect, useState } from "react";

export interface State {
  type: string;
  name: string;
  timestamp: number;
  message?: string | null;
}

export interface FlowRun {
  id: string;
  name: string;
  flowName: string;
  state: State;
  parameters: unknown;
  runCount: number;
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
  parentFlowRunId: string | null;
  deploymentId: string | null;
  resultId: string | null;
  tags: string[];
  error: { name: string; message: string; stack?: string } | null;
}

export interface TaskRun {
  id: string;
  taskKey: string;
  taskName: string;
  state: State;
  runCount: number;
  startTime: number | null;
  endTime: number | null;
  error: { message: string } | null;
}

export interface Dependency {
  taskRunId: string;
  upstreamTaskRunId: string;
  kind: "data" | "wait";
}

export interface LogLine {
  id: number;
  taskRunId: string | null;
  level: number;
  message: string;
  timestamp: number;
}

export type LiveEvent = ({ kind: "state"; flowRunId: string; taskRunId: string | null } & State) | ({ kind: "log"; flowRunId: string } & LogLine);

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(`/api${path}`);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  }
  return (await response.json()) as T;
}

export async function post<T>(path: string): Promise<T> {
  const response = await fetch(`/api${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const body = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

/** Calls `onEvent` for every live event (of one flow run, or all); reconnects by itself. */
export function useLiveEvents(flowRunId: string | null, onEvent: (event: LiveEvent) => void): void {
  useEffect(() => {
    const source = new EventSource(`/api/events/stream${flowRunId ? `?flowRunId=${encodeURIComponent(flowRunId)}` : ""}`);
    const handler = (message: MessageEvent<string>) => onEvent(JSON.parse(message.data) as LiveEvent);
    source.addEventListener("state", handler);
    source.addEventListener("log", handler);
    return () => source.close();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [flowRunId]);
}

/** Data that reloads when `reloadKey` changes. */
export function useData<T>(path: string | null, reloadKey: unknown = 0): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return;
    let live = true;
    get<T>(path).then(
      (value) => live && (setData(value), setError(null)),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [path, reloadKey]);
  return { data, error };
}
