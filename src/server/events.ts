/**
 * Live events: the hub tails the append-only `states` and `logs` tables and fans new rows out
 * to subscribers (the SSE stream). Tailing the store rather than hooking the API means runs
 * written directly to the database (local mode, other servers on one PostgreSQL) appear too.
 */
import type { BatonEvent } from "../core/events.ts";
import type { Store, TailPosition } from "../store/types.ts";

export type { BatonEvent };

export interface Subscriber {
  flowRunId: string | null;
  send(event: BatonEvent): void;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private position: TailPosition | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = 200,
  ) {}

  async start(): Promise<void> {
    this.position = await this.store.tailPosition();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscribers.clear();
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Reads what was written since the last poll and delivers it, states before logs. */
  async poll(): Promise<void> {
    if (this.polling || !this.position) return;
    this.polling = true;
    try {
      for (;;) {
        const { states, logs } = await this.store.tail(this.position, 1000);
        if (states.length) this.position = { ...this.position, stateId: states[states.length - 1]!.id };
        if (logs.length) this.position = { ...this.position, logId: logs[logs.length - 1]!.id! };
        if (this.subscribers.size) {
          for (const s of states) this.publish({ kind: "state", ...s });
          for (const l of logs) this.publish({ kind: "log", ...l });
        }
        if (states.length < 1000 && logs.length < 1000) break;
      }
    } catch {
      // the store is briefly unavailable: try again on the next tick
    } finally {
      this.polling = false;
    }
  }

  private publish(event: BatonEvent): void {
    for (const s of this.subscribers) if (!s.flowRunId || s.flowRunId === event.flowRunId) s.send(event);
  }
}
