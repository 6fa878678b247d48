/**
 * Leader election among server replicas over one database: the singleton services (scheduler,
 * late marker, crash sweep, pause timeouts, retention, automations) run in the one replica that
 * holds the leader lock (store/leader-lock.ts). The others try to take it every `retryMs`, so
 * a dead leader — whose lock the database releases with its connection — is replaced within
 * about `retryMs`.
 *
 * States: follower -> leader (the lock was taken: `onElected`) -> follower (the lock's
 * connection dropped, or stopped answering a check, or the elector stopped: `onDeposed` at
 * once, then the connection is closed so the lock is surely free) -> follower... A follower
 * whose lock connection fails connects again on its next try. A deposed leader sits out its next
 * few tries, so that another replica, not the one whose connection just failed, takes over.
 */
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { LeaderLock } from "../store/leader-lock.ts";
import type { Leadership } from "../schemas/health.ts";

/** What `GET /api/health` says of the election (schemas/health.ts). */
export type LeadershipStatus = Leadership;

export interface LeaderElectorOptions {
  /** This replica's name (default: host:pid:random). */
  name: string;
  /** How often a follower tries to take the lock and a leader checks it still holds it (ms). */
  retryMs: number;
  /** Became leader: start the singleton services. */
  onElected(): void;
  /** No longer leader: stop them now. */
  onDeposed(): Promise<void> | void;
  log: Pick<FastifyBaseLogger, "info" | "warn">;
}

/** A replica's default name: unique across hosts, processes and servers of one process. */
export function replicaName(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** How many tries a deposed leader sits out, so that a healthy replica takes the lead rather than it again. */
const BACK_OFF_RETRIES = 5;

export class LeaderElector {
  private leaderSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** A deposed leader tries again only after this (ms since epoch): another replica takes over first. */
  private backOffUntil = 0;

  constructor(
    private readonly lock: LeaderLock,
    private readonly options: LeaderElectorOptions,
  ) {
    lock.onLost(() => this.depose("its lock connection to the database dropped"));
  }

  get name(): string {
    return this.options.name;
  }

  get isLeader(): boolean {
    return this.leaderSince !== null;
  }

  /** Makes the first attempt (a sole replica leads when this resolves), then tries every `retryMs`. */
  async start(): Promise<void> {
    await this.tick();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.options.retryMs);
    this.timer.unref();
  }

  /** One attempt (follower) or check (leader); overlapping calls share one. */
  tick(): Promise<void> {
    this.ticking ??= this.attempt().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    if (this.isLeader) {
      let holds = false;
      try {
        holds = await this.lock.verify();
      } catch {
        // a connection that does not answer in time is as good as lost
      }
      if (!holds) this.depose("its lock connection stopped answering");
      return;
    }
    // Just deposed (its connection was killed, or stopped answering): the others go first.
    if (Date.now() < this.backOffUntil) return;
    let taken = false;
    try {
      taken = await this.lock.tryAcquire();
    } catch (error) {
      // The database is away: close what is left of the connection; the next try reconnects.
      await this.lock.release();
      this.options.log.warn({ err: error }, "leader election: cannot reach the database; trying again");
      return;
    }
    if (!taken) return;
    if (this.stopped) return void (await this.lock.release());
    this.leaderSince = Date.now();
    this.options.log.info(`replica ${this.name} is the leader: it runs the scheduler, sweeps, retention and automations`);
    this.options.onElected();
  }

  private depose(reason: string): void {
    if (!this.isLeader) return;
    this.leaderSince = null;
    this.backOffUntil = Date.now() + BACK_OFF_RETRIES * this.options.retryMs;
    this.options.log.warn(`replica ${this.name} is no longer the leader: ${reason}; its singleton services stopped`);
    void Promise.resolve(this.options.onDeposed()).catch(() => undefined);
    void this.lock.release();
  }

  async status(): Promise<LeadershipStatus> {
    let holder: string | null = null;
    try {
      holder = await this.lock.holder();
    } catch {
      // unknown while the database is away
    }
    return { isLeader: this.isLeader, since: this.leaderSince, holder, replica: this.name };
  }

  /** Stops electing; a leader stops its services and frees the lock for another replica. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    if (this.leaderSince !== null) {
      this.leaderSince = null;
      await this.options.onDeposed();
    }
    await this.lock.release();
  }
}
