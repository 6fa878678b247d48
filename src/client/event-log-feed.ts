/**
 * Following the durable event log from a client (`baton events watch`): the server's stream in
 * remote mode, the database's tail otherwise, filtered alike (core/event-filter.ts).
 *
 * The stream survives a server restart: when it ends or breaks, it reconnects with backoff
 * (100 ms doubling to 1 s) with the last message's id as Last-Event-ID, a resume token that the
 * server reads from the table (not its memory), so nothing committed meanwhile is missed and
 * nothing is repeated. It gives up only after `retryWindowMs` without a connection.
 */
import type { IncomingMessage } from "node:http";
import type { EventRecord } from "../core/event-records.ts";
import { eventPassesFilter, type EventFilter } from "../core/event-filter.ts";
import { BatonError } from "../core/errors.ts";
import type { EventLogMaintenance } from "../store/types.ts";
import { ApiRequestError } from "./api-client.ts";
import { RemoteStore } from "./remote-store.ts";
import { readSse } from "./sse-reader.ts";
import { parseAnswer, UnexpectedAnswerError } from "./answers.ts";
import { EventRecordSchema } from "../schemas/event.ts";

export interface FollowOptions {
  filter: EventFilter;
  /** Called for every new matching event, in order. */
  onEvent(event: EventRecord): void;
  /** Ends the follow (it resolves). */
  signal: AbortSignal;
  /** How long the stream may stay unreachable before the follow fails (remote mode). */
  retryWindowMs: number;
  /** The stream's resume token to start from (remote mode), instead of now. */
  lastEventId?: string;
  /** Called once following has begun: events stored from then on are delivered. */
  onStart?(): void;
}

/** Resolves after `ms`, or early when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * Delivers new events matching the filter until `signal` aborts: from the server's stream (a
 * client of it), or by tailing the database. Rejects if the server stays unreachable.
 */
export async function followEventLog(store: RemoteStore | EventLogMaintenance, options: FollowOptions): Promise<void> {
  if (store instanceof RemoteStore) return followStream(store, options);
  let position = await store.eventTailStart();
  options.onStart?.();
  while (!options.signal.aborted) {
    const batch = await store.tailEventLog(position, 500);
    for (const { event } of batch.events) if (eventPassesFilter(options.filter, event)) options.onEvent(event);
    position = batch.position;
    if (batch.events.length < 500) await pause(250, options.signal);
  }
}

/** The stream's query string for a filter. */
export function streamQuery(filter: EventFilter): string {
  const q = new URLSearchParams();
  if (filter.event?.length) q.set("event", filter.event.join(","));
  if (filter.resource !== undefined) q.set("resource", filter.resource);
  if (filter.related !== undefined) q.set("related", filter.related);
  if (filter.involves !== undefined) q.set("involves", filter.involves);
  if (filter.since !== undefined) q.set("since", String(filter.since));
  if (filter.until !== undefined) q.set("until", String(filter.until));
  const text = q.toString();
  return text ? `?${text}` : "";
}

async function followStream(store: RemoteStore, options: FollowOptions): Promise<void> {
  const path = `/api/events/stream${streamQuery(options.filter)}`;
  let lastId = options.lastEventId ?? null;
  let response: IncomingMessage | null = null;
  const onAbort = () => response?.destroy();
  options.signal.addEventListener("abort", onAbort);
  try {
    while (!options.signal.aborted) {
      response = await connect(store, path, lastId, options);
      if (!response) return;
      // The server subscribed before answering: from here on nothing is missed.
      if (lastId === (options.lastEventId ?? null)) options.onStart?.();
      try {
        await readSse(response, (message) => {
          if (message.id) lastId = message.id;
          if (message.event === "event" && message.data !== null) options.onEvent(parseAnswer(EventRecordSchema, JSON.parse(message.data), "GET /api/events/stream"));
        });
      } catch (error) {
        // An event of another shape would come again after a reconnect.
        if (error instanceof UnexpectedAnswerError) throw error;
        // the connection broke: reconnect with the last id
      }
    }
  } finally {
    options.signal.removeEventListener("abort", onAbort);
  }
}

/** Opens the stream (retrying transient failures within the window); null once aborted. */
async function connect(store: RemoteStore, path: string, lastId: string | null, options: FollowOptions): Promise<IncomingMessage | null> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (lastId) headers["last-event-id"] = lastId;
  const deadline = Date.now() + options.retryWindowMs;
  let delay = 100;
  for (;;) {
    if (options.signal.aborted) return null;
    try {
      return await store.api.openStream(path, headers);
    } catch (error) {
      const transient = !(error instanceof ApiRequestError) || error.status >= 500 || error.status === 429;
      if (!transient) throw error;
      if (Date.now() + delay > deadline)
        throw new BatonError(`lost the event stream of ${store.api.baseUrl} for more than ${Math.round(options.retryWindowMs / 1000)} s: ${(error as Error).message}`, { cause: error });
      await pause(delay, options.signal);
      delay = Math.min(1000, delay * 2);
    }
  }
}
