/**
 * Follows a flow run's live events: from the server's SSE stream in remote mode, or by tailing
 * the database directly in local mode. Stops when `onEvent` returns false or `signal` aborts.
 */
import type { BatonEvent } from "../core/events.ts";
import type { Store } from "../store/types.ts";
import { RemoteStore } from "./remote-store.ts";

export type { BatonEvent };

export async function followEvents(
  store: Store,
  flowRunId: string,
  onEvent: (event: BatonEvent) => boolean | void,
  signal?: AbortSignal,
): Promise<void> {
  if (store instanceof RemoteStore) return followSse(store, flowRunId, onEvent, signal);
  let position = await store.tailPosition();
  while (!signal?.aborted) {
    const { states, logs } = await store.tail(position, 1000);
    const events: BatonEvent[] = [...states.map((s) => ({ kind: "state" as const, ...s })), ...logs.map((l) => ({ kind: "log" as const, ...l }))];
    if (states.length) position = { ...position, stateId: states[states.length - 1]!.id };
    if (logs.length) position = { ...position, logId: logs[logs.length - 1]!.id! };
    events.sort((a, b) => a.timestamp - b.timestamp);
    for (const event of events) if (event.flowRunId === flowRunId && onEvent(event) === false) return;
    if (!states.length && !logs.length) await new Promise((r) => setTimeout(r, 200));
  }
}

async function followSse(store: RemoteStore, flowRunId: string, onEvent: (event: BatonEvent) => boolean | void, signal?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort());
  const headers: Record<string, string> = { accept: "text/event-stream" };
  const key = (store.api as unknown as { headers: Record<string, string> }).headers.authorization;
  if (key) headers.authorization = key;
  const response = await fetch(`${store.api.baseUrl}/api/events/stream?flowRunId=${encodeURIComponent(flowRunId)}`, { headers, signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`cannot open the event stream: HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split("\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n");
        if (data && onEvent(JSON.parse(data) as BatonEvent) === false) {
          controller.abort();
          return;
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
}
