/**
 * Live events from the server (SSE). One EventSource per stream (all events, or one flow run's)
 * is shared by every component that listens to it, so a page with several live panels holds
 * one connection, not one per panel (browsers allow six per host over HTTP/1.1).
 *
 * Each listener is called through a ref to its latest handler: a handler that closes over
 * state sees the current state, not the state of the render that subscribed. `onOpen` runs on
 * every (re)connection, after the server has subscribed this stream: fetching what happened
 * before that moment then misses nothing (events after it arrive on the stream; duplicates
 * are removed by id).
 *
 * EventSource reconnects by itself after a dropped connection, but gives up on an error answer:
 * a 401 once the session ended, a 503 from a server that is stopping. Then the stream asks the
 * server whether it is still signed in (a 401 there brings up the sign-in page, which releases
 * the stream) and, if so, opens a new connection.
 */
import { useEffect, useLayoutEffect, useRef } from "react";
import { get, HttpError, useCoalescedReload, useInterval } from "./api.ts";
import type { LiveEvent, ResourceEvent } from "./types.ts";

interface Listener {
  event(e: LiveEvent): void;
  open(): void;
}

interface Stream {
  url: string;
  source: EventSource | null;
  listeners: Set<Listener>;
  open: boolean;
}

const streams = new Map<string, Stream>();

/** How long a stream refused by the server waits before it asks again (ms). */
const RECONNECT_MS = 2000;

function connect(stream: Stream): void {
  const source = new EventSource(stream.url);
  stream.source = source;
  const dispatch = (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as LiveEvent;
    for (const l of [...stream.listeners]) l.event(event);
  };
  for (const kind of ["state", "log", "resource"]) source.addEventListener(kind, dispatch);
  // The server writes ": connected" after subscribing; EventSource reports open on the
  // response headers, which are written in the same handler after the subscription.
  source.addEventListener("open", () => {
    stream.open = true;
    for (const l of [...stream.listeners]) l.open();
  });
  source.addEventListener("error", () => {
    stream.open = false;
    if (source.readyState === EventSource.CLOSED) setTimeout(() => void reconnect(stream, source), RECONNECT_MS);
  });
}

/** Opens a new connection for a stream the server refused, unless it was released meanwhile or the session is over. */
async function reconnect(stream: Stream, refused: EventSource): Promise<void> {
  const current = () => stream.source === refused && stream.listeners.size > 0;
  if (!current()) return;
  try {
    await get("/session");
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) return;
  }
  if (current()) connect(stream);
}

function acquire(flowRunId: string | null, listener: Listener): () => void {
  const key = flowRunId ?? "";
  let stream = streams.get(key);
  if (!stream) {
    const created: Stream = { url: `/api/live/stream${flowRunId ? `?flowRunId=${encodeURIComponent(flowRunId)}` : ""}`, source: null, listeners: new Set(), open: false };
    connect(created);
    streams.set(key, created);
    stream = created;
  }
  stream.listeners.add(listener);
  if (stream.open) queueMicrotask(() => listener.open());
  const owner = stream;
  return () => {
    owner.listeners.delete(listener);
    if (owner.listeners.size === 0) {
      owner.source?.close();
      owner.source = null;
      streams.delete(key);
    }
  };
}

/** Calls `onEvent` for every live event (of one flow run, or all); reconnects by itself. */
export function useLiveEvents(flowRunId: string | null, onEvent: (event: LiveEvent) => void, onOpen?: () => void): void {
  const handlers = useRef({ onEvent, onOpen });
  useLayoutEffect(() => {
    handlers.current = { onEvent, onOpen };
  });
  useEffect(
    () =>
      acquire(flowRunId, {
        event: (e) => handlers.current.onEvent(e),
        open: () => handlers.current.onOpen?.(),
      }),
    [flowRunId],
  );
}

/**
 * A reload counter for a page that shows deployments, pools, workers or limits: bumped (at
 * most every 300 ms) when the server announces a change to one of `resources`, and every
 * `fallbackMs` for changes it cannot announce (a worker heartbeating straight into the
 * database, a heartbeat growing old).
 */
export function useResourceReload(resources: readonly ResourceEvent["resource"][], fallbackMs = 15_000): number {
  const [reload, trigger] = useCoalescedReload(300);
  useLiveEvents(null, (e) => {
    if (e.kind === "resource" && resources.includes(e.resource)) trigger();
  });
  useInterval(trigger, fallbackMs);
  return reload;
}
