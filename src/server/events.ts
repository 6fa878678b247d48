/**
 * Live events: the hub tails the append-only `states` and `logs` tables and fans new rows out
 * to subscribers (the SSE stream). Tailing the store rather than hooking the API means runs
 * written directly to the database (local mode, other servers on one PostgreSQL) appear too.
 * The tail delivers rows that commit late (PostgreSQL) when they appear, so an event may arrive
 * after one with a higher id; each carries a resume point (see `resumePoint`).
 */
import type { FastifyInstance } from "fastify";
import type { BatonEvent } from "../core/events.ts";
import { resumePoint } from "../store/event-tail.ts";
import type { StateLogTail, TailPosition } from "../store/types.ts";

export type { BatonEvent };

/**
 * A deployment (or its schedules), work pool, queue, worker, concurrency limit, variable or
 * secret changed through the API. These tables have no append-only log to tail, so the server
 * announces its own writes (see `announceResourceChanges`); writers that bypass it (a worker
 * heartbeating straight into the database, a run setting a variable on the database) are only
 * seen by the dashboard's slow fallback poll.
 */
export interface ResourceEvent {
  kind: "resource";
  resource: "deployments" | "work-pools" | "workers" | "concurrency-limits" | "variables" | "secrets" | "artifacts";
  /** The deployment, pool, worker, limit, variable or secret named in the request's path, when there is one; an artifact's id. */
  name: string | null;
  /** An artifact's run: that run's stream hears of it too (its page shows the artifact). */
  flowRunId?: string;
}

export interface Subscriber {
  flowRunId: string | null;
  /** `resumeFrom`: the Last-Event-ID under which a reconnecting client misses nothing. */
  send(event: BatonEvent | ResourceEvent, resumeFrom: string): void;
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
    private readonly store: StateLogTail,
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

  /** Delivers a resource change at once, to the subscribers of all events (and of its run's). */
  publishResource(event: ResourceEvent): void {
    const resumeFrom = this.resumeId();
    for (const s of this.subscribers) if (!s.flowRunId || s.flowRunId === event.flowRunId) s.send(event, resumeFrom);
  }
}

/** Mutating API paths and the resource they change; the first match wins. */
const RESOURCE_PATHS: [RegExp, ResourceEvent["resource"] | null][] = [
  [/^\/api\/deployments\/[^/]+\/runs$/, null], // creates a flow run: its state events say so
  [/^\/api\/deployments(?:\/([^/]+))?/, "deployments"],
  [/^\/api\/work-pools\/[^/]+\/(?:claim|next-due)$/, null], // claims move flow runs, not pools
  [/^\/api\/work-pools\/[^/]+\/workers$/, "workers"],
  [/^\/api\/workers\/([^/]+)/, "workers"],
  [/^\/api\/work-pools(?:\/([^/]+))?/, "work-pools"],
  [/^\/api\/concurrency-(?:limits\/acquire|leases\/[^/]+)$/, "concurrency-limits"],
  [/^\/api\/concurrency-limits(?:\/([^/]+))?/, "concurrency-limits"],
  [/^\/api\/variables\/([^/]+)$/, "variables"],
  [/^\/api\/secrets\/([^/]+)$/, "secrets"],
];

/** Publishes a `resource` event after every successful POST, PUT, PATCH or DELETE on those paths. */
export function announceResourceChanges(app: FastifyInstance, hub: EventHub): void {
  app.addHook("onResponse", (request, reply, done) => {
    if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS" || reply.statusCode >= 400) return done();
    const path = request.url.split("?")[0]!;
    for (const [pattern, resource] of RESOURCE_PATHS) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (resource) hub.publishResource({ kind: "resource", resource, name: match[1] ? decodeURIComponent(match[1]) : null });
      break;
    }
    done();
  });
}
