/**
 * The durable event log as a live list: the stream (GET /api/events/stream) is opened first and,
 * once the server has subscribed it (EventSource's open), the newest stored events are fetched:
 * everything older arrives with the page, everything newer on the stream, repeats dropped by id.
 * EventSource resumes by itself after a dropped connection (its Last-Event-ID is the server's
 * resume token); a stream the server refused (401, 503) is opened again after a pause, the
 * session checked first like live.ts does.
 */
import { useCallback, useEffect, useState } from "react";
import { get, HttpError } from "./api.ts";
import type { EventRecord } from "./types.ts";

/** Events kept in memory per list. */
const MAX_SHOWN = 1000;
const RECONNECT_MS = 2000;

interface Feed {
  events: EventRecord[];
  /** The cursor of older events, null when all are shown. */
  older: string | null;
  error: string | null;
  /** The stream is connected. */
  live: boolean;
}

/** Newest first, each id once. */
function merge(current: EventRecord[], incoming: EventRecord[]): EventRecord[] {
  const byId = new Map(current.map((e) => [e.id, e]));
  for (const e of incoming) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => b.seq - a.seq).slice(0, MAX_SHOWN);
}

/** Events matching `query` (a query string of GET /api/events filters), newest first, live. */
export function useEventFeed(query: string, limit = 100): Feed & { loadOlder(): void } {
  const [feed, setFeed] = useState<Feed & { query: string }>({ query, events: [], older: null, error: null, live: false });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let closed = false;
    setFeed({ query, events: [], older: null, error: null, live: false });
    const source = new EventSource(`/api/events/stream${query ? `?${query}` : ""}`);
    source.addEventListener("event", (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as EventRecord;
      setFeed((f) => ({ ...f, events: merge(f.events, [event]) }));
    });
    source.addEventListener("open", () => {
      setFeed((f) => ({ ...f, live: true, error: null }));
      get<{ items: EventRecord[]; nextCursor: string | null }>(`/events?${query}${query ? "&" : ""}limit=${limit}`).then(
        (page) => !closed && setFeed((f) => ({ ...f, events: merge(f.events, page.items), older: f.older ?? page.nextCursor })),
        (e: Error) => !closed && setFeed((f) => ({ ...f, error: e.message })),
      );
    });
    source.addEventListener("error", () => {
      setFeed((f) => ({ ...f, live: false }));
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(() => {
        if (closed) return;
        // A refused stream: a 400 names a bad filter, a 401 brings up the sign-in page.
        get(`/events?${query}${query ? "&" : ""}limit=1`).then(
          () => !closed && setAttempt((n) => n + 1),
          (e: Error) => !closed && (e instanceof HttpError && e.status === 400 ? setFeed((f) => ({ ...f, error: e.message })) : setAttempt((n) => n + 1)),
        );
      }, RECONNECT_MS);
    });
    return () => {
      closed = true;
      source.close();
    };
  }, [query, limit, attempt]);
  const loadOlder = useCallback(() => {
    if (!feed.older) return;
    get<{ items: EventRecord[]; nextCursor: string | null }>(`/events?${query}${query ? "&" : ""}limit=${limit}&cursor=${encodeURIComponent(feed.older)}`).then(
      (page) => setFeed((f) => ({ ...f, events: [...f.events, ...page.items.filter((e) => !f.events.some((x) => x.id === e.id))], older: page.nextCursor })),
      (e: Error) => setFeed((f) => ({ ...f, error: e.message })),
    );
  }, [feed.older, query, limit]);
  const current = feed.query === query ? feed : { events: [], older: null, error: null, live: false };
  return { events: current.events, older: current.older, error: current.error, live: current.live, loadOlder };
}
