/**
 * Live events: the hub tails the append-only `states` and `logs` tables and fans new rows out
 * to subscribers (the SSE stream). Tailing the store rather than hooking the API means runs
 * written directly to the database (local mode, other servers on one PostgreSQL) appear too.
 * The tail delivers rows that commit late (PostgreSQL) when they appear, so an event may arrive
 * after one with a higher id; each carries a resume point (see `resumePoint`).
 */
import type { BatonEvent } from "../core/events.ts";
import { resumePoint } from "../store/event-tail.ts";
import type { Store, TailPosition } from "../store/types.ts";

export type { BatonEvent };

export interface Subscriber {
  flowRunId: string | null;
  /** `resumeFrom`: the Last-Event-ID under which a reconnecting client misses nothing. */
  send(event: BatonEvent, resumeFrom: string): void;
  /** The hub is stopping (the server closes): end the response. */
  close?(): void;
}

/** "12.40": resume after state 12 and log 40. */
export function formatResumeId(point: { stateId: number; logId: number }): string {
  return `${point.stateId}.${point.logId}`;
}

export function parseResumeId(text: string | undefined): { stateId: number; logId: number } | null {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text?.trim() ?? "");
  return match ? { stateId: Number(match[1]), logId: Number(match[2]) } : null;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private position: TailPosition | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = 200,
  ) {}

  async start(): Promise<void> {
    this.position = await this.store.tailPosition();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops tailing and ends every subscriber's stream. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.subscribers) s.close?.();
    this.subscribers.clear();
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Reads what was committed since the last poll and delivers it, states before logs. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = null));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (!this.position) return;
    try {
      for (;;) {
        // Events of this read resume from where the read started: a client that reconnects
        // after receiving some of them gets the rest (and repeats, which it drops by id).
        const resumeFrom = formatResumeId(resumePoint(this.position));
        const { states, logs, position } = await this.store.tail(this.position, 1000);
        this.position = position;
        if (this.subscribers.size) {
          for (const s of states) this.publish({ kind: "state", ...s }, resumeFrom);
          for (const l of logs) this.publish({ kind: "log", ...l }, resumeFrom);
        }
        if (states.length < 1000 && logs.length < 1000) break;
      }
    } catch {
      // the store is briefly unavailable: try again on the next tick
    }
  }

  /** The resume point of everything delivered so far. */
  resumeId(): string {
    return formatResumeId(this.position ? resumePoint(this.position) : { stateId: 0, logId: 0 });
  }

  private publish(event: BatonEvent, resumeFrom: string): void {
    for (const s of this.subscribers) if (!s.flowRunId || s.flowRunId === event.flowRunId) s.send(event, resumeFrom);
  }
}
