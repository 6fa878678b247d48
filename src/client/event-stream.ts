/**
 * Follows a flow run's live events: from the server's SSE stream in remote mode, or by tailing
 * the database in local mode. `openEventFeed` resolves once it is subscribed, so a caller can
 * subscribe first and read the run's current state after, missing nothing in between; events
 * queue until `run` takes them.
 *
 * The SSE feed survives a server restart: when the stream ends it reconnects with backoff
 * (100 ms doubling to 1 s) for up to the client's retry window (BATON_API_RETRY_MS), resuming
 * with Last-Event-ID; the server replays what was missed, and repeats are dropped by id.
 */
import type { IncomingMessage } from "node:http";
import type { BatonEvent } from "../core/events.ts";
import { BatonError } from "../core/errors.ts";
import type { StateLogTail, TailPosition } from "../store/types.ts";
import { ApiRequestError } from "./api-client.ts";
import { RemoteStore } from "./remote-store.ts";
import { readSse, type SseMessage } from "./sse-reader.ts";
import { parseAnswer, UnexpectedAnswerError } from "./answers.ts";
import { RunEventSchema } from "../schemas/live-event.ts";

export type { BatonEvent };

export type EventHandler = (event: BatonEvent) => boolean | void;

export interface EventFeed {
  /**
   * Delivers events from when the feed opened until `onEvent` returns false, `signal` aborts or
   * `close()` is called. Rejects if the server stays unreachable beyond the retry window.
   */
  run(onEvent: EventHandler, signal?: AbortSignal): Promise<void>;
  close(): void;
}

export async function openEventFeed(store: RemoteStore | StateLogTail, flowRunId: string, options: { retryWindowMs?: number } = {}): Promise<EventFeed> {
  if (store instanceof RemoteStore) {
    const feed = new SseFeed(store, flowRunId, options.retryWindowMs ?? store.api.retryWindowMs);
    await feed.open();
    return feed;
  }
  return new TailFeed(store, flowRunId, await store.tailPosition());
}

/** Subscribes and delivers events until `onEvent` returns false or `signal` aborts. */
export async function followEvents(store: RemoteStore | StateLogTail, flowRunId: string, onEvent: EventHandler, signal?: AbortSignal): Promise<void> {
  const feed = await openEventFeed(store, flowRunId);
  try {
    await feed.run(onEvent, signal);
  } finally {
    feed.close();
  }
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

class TailFeed implements EventFeed {
  private readonly closed = new AbortController();

  constructor(
    private readonly store: StateLogTail,
    private readonly flowRunId: string,
    private position: TailPosition,
  ) {}

  async run(onEvent: EventHandler, signal?: AbortSignal): Promise<void> {
    const stop = () => this.closed.signal.aborted || signal?.aborted === true;
    while (!stop()) {
      const { states, logs, position } = await this.store.tail(this.position, 1000);
      this.position = position;
      const events: BatonEvent[] = [...states.map((s) => ({ kind: "state" as const, ...s })), ...logs.map((l) => ({ kind: "log" as const, ...l }))];
      events.sort((a, b) => a.timestamp - b.timestamp);
      for (const event of events) if (event.flowRunId === this.flowRunId && onEvent(event) === false) return;
      if (!states.length && !logs.length) await pause(200, signal ? AbortSignal.any([signal, this.closed.signal]) : this.closed.signal);
    }
  }

  close(): void {
    this.closed.abort();
  }
}

/** Ids of delivered events, the oldest forgotten past a bound. */
class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 100_000) {}
  /** True the first time a key is offered. */
  add(key: string): boolean {
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

class SseFeed implements EventFeed {
  private readonly queue: BatonEvent[] = [];
  private readonly seen = new SeenIds();
  private readonly closed = new AbortController();
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private lastEventId: string | null = null;
  private response: IncomingMessage | null = null;

  constructor(
    private readonly store: RemoteStore,
    private readonly flowRunId: string,
    private readonly retryWindowMs: number,
  ) {}

  /** Connects (retrying within the window); resolves once the server has subscribed us. */
  async open(): Promise<void> {
    this.response = await this.connect();
    void this.pump();
  }

  async run(onEvent: EventHandler, signal?: AbortSignal): Promise<void> {
    const onAbort = () => this.close();
    signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        while (this.queue.length) if (onEvent(this.queue.shift()!) === false) return this.close();
        if (this.failure) throw this.failure;
        if (this.closed.signal.aborted) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    this.closed.abort();
    this.response?.destroy();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Reads the stream; when it ends or breaks, reconnects and goes on. */
  private async pump(): Promise<void> {
    while (!this.closed.signal.aborted && this.response) {
      try {
        await this.read(this.response);
      } catch (error) {
        // An event of another shape would come again after a reconnect: it ends the feed.
        if (error instanceof UnexpectedAnswerError) {
          this.failure = error;
          this.notify();
          return;
        }
        // the connection broke: reconnect below
      }
      if (this.closed.signal.aborted) return;
      try {
        this.response = await this.connect();
        // Closed while connecting: the new connection must not keep the process alive.
        if (this.closed.signal.aborted) this.response.destroy();
      } catch (error) {
        this.failure = error as Error;
        this.notify();
        return;
      }
    }
  }

  private async connect(): Promise<IncomingMessage> {
    const path = `/api/live/stream?flowRunId=${encodeURIComponent(this.flowRunId)}`;
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.lastEventId) headers["last-event-id"] = this.lastEventId;
    const deadline = Date.now() + this.retryWindowMs;
    let delay = 100;
    for (;;) {
      if (this.closed.signal.aborted) throw new BatonError("the event feed was closed");
      try {
        return await this.store.api.openStream(path, headers);
      } catch (error) {
        const transient = !(error instanceof ApiRequestError) || error.status >= 500 || error.status === 429;
        if (!transient || this.closed.signal.aborted) throw error;
        if (Date.now() + delay > deadline)
          throw new BatonError(`lost the event stream of ${this.store.api.baseUrl} for more than ${Math.round(this.retryWindowMs / 1000)} s: ${(error as Error).message}`, {
            cause: error,
          });
        await pause(delay, this.closed.signal);
        // At most 1 s between attempts: a follower should be back soon after the server is.
        delay = Math.min(1000, delay * 2);
      }
    }
  }

  private read(response: IncomingMessage): Promise<void> {
    return readSse(response, (message) => this.frame(message));
  }

  private frame({ id, data }: SseMessage): void {
    if (id) this.lastEventId = id;
    if (data === null) return;
    const event = parseAnswer(RunEventSchema, JSON.parse(data), "GET /api/live/stream");
    if (event.id !== undefined && !this.seen.add(`${event.kind}:${event.id}`)) return;
    this.queue.push(event);
    this.notify();
  }
}
