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
 */
import { useEffect, useLayoutEffect, useRef } from "react";
import { useCoalescedReload, useInterval } from "./api.ts";
import type { LiveEvent, ResourceEvent } from "./types.ts";

interface Listener {
  event(e: LiveEvent): void;
  open(): void;
}

interface Stream {
  source: EventSource;
  listeners: Set<Listener>;
  open: boolean;
}

const streams = new Map<string, Stream>();

function acquire(flowRunId: string | null, listener: Listener): () => void {
  const key = flowRunId ?? "";
  let stream = streams.get(key);
  if (!stream) {
    const source = new EventSource(`/api/events/stream${flowRunId ? `?flowRunId=${encodeURIComponent(flowRunId)}` : ""}`);
    const created: Stream = { source, listeners: new Set(), open: false };
    const dispatch = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as LiveEvent;
      for (const l of [...created.listeners]) l.event(event);
    };
    for (const kind of ["state", "log", "resource"]) source.addEventListener(kind, dispatch);
    // The server writes ": connected" after subscribing; EventSource reports open on the
    // response headers, which are written in the same handler after the subscription.
    source.addEventListener("open", () => {
      created.open = true;
      for (const l of [...created.listeners]) l.open();
    });
    source.addEventListener("error", () => (created.open = false));
    streams.set(key, created);
    stream = created;
  }
  stream.listeners.add(listener);
  if (stream.open) queueMicrotask(() => listener.open());
  const owner = stream;
  return () => {
    owner.listeners.delete(listener);
    if (owner.listeners.size === 0) {
      owner.source.close();
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
