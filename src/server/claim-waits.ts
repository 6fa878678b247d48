/**
 * Long-polled claims: a remote worker's claim that finds nothing due is held (up to the
 * `waitMs` it asked for) until something may have changed for its pool, then tried again.
 * Wake-ups come from the store's run-due hints (runs scheduled or ended by this server, and on
 * PostgreSQL by any process through LISTEN), from the pool's next scheduled time (a timer), and
 * from a re-check every `recheckMs` that covers what no hint reports (SQLite writes of other
 * processes, a dropped LISTEN connection). A worker that stops interrupts its own wait.
 *
 * States of one wait: waiting -> woken (hint for its pool) | timed out | interrupted (worker
 * stopping, client gone, server closing). Only `waiting` holds resources: a timer and an entry.
 */
import type { ClaimedFlowRun, OrchestrationStore } from "../store/types.ts";

type Outcome = "woken" | "timeout" | "interrupted";

interface Waiter {
  pool: string;
  workerId: string;
  settle(outcome: Outcome): void;
}

export class ClaimWaits {
  private readonly waiters = new Set<Waiter>();
  /** Claims in progress: an interrupt marks them, so one between two waits is not lost. */
  private readonly claims = new Set<{ workerId: string; interrupted: boolean }>();
  private closed = false;

  constructor(
    private readonly orchestration: OrchestrationStore,
    private readonly recheckMs = 1000,
  ) {}

  /** A hint that `pool` may have runs to hand out. */
  wake(pool: string): void {
    for (const w of this.waiters) if (w.pool === pool) w.settle("woken");
  }

  /** Ends the waits of a worker (it is stopping): its claim answers at once. */
  interrupt(workerId: string): void {
    for (const c of this.claims) if (c.workerId === workerId) c.interrupted = true;
    for (const w of this.waiters) if (w.workerId === workerId) w.settle("interrupted");
  }

  /** Ends every wait (the server is closing). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) w.settle("interrupted");
  }

  private wait(pool: string, workerId: string, ms: number, gone: () => boolean): Promise<Outcome> {
    if (this.closed || gone()) return Promise.resolve("interrupted");
    return new Promise((resolve) => {
      const waiter: Waiter = {
        pool,
        workerId,
        settle: (outcome) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle("timeout"), Math.max(0, ms));
      this.waiters.add(waiter);
    });
  }

  /**
   * Claims for a worker, waiting up to `waitMs` for a run while none can be handed out.
   * `gone()` says whether the client has left (its claims would be lost: none are made then).
   */
  async claim(pool: string, workerId: string, max: number, waitMs: number, gone: () => boolean): Promise<ClaimedFlowRun[]> {
    const deadline = Date.now() + waitMs;
    const ticket = { workerId, interrupted: false };
    const over = () => ticket.interrupted || this.closed || gone();
    this.claims.add(ticket);
    try {
      let items = await this.orchestration.claimFlowRuns(pool, workerId, max, Date.now());
      while (items.length === 0 && !over()) {
        const now = Date.now();
        if (now >= deadline) break;
        const due = await this.orchestration.nextDueAt(pool);
        let sleep = Math.min(deadline - now, this.recheckMs);
        if (due !== null && due > now) sleep = Math.min(sleep, due - now + 1);
        const outcome = await this.wait(pool, workerId, sleep, over);
        if (outcome === "interrupted" || over()) break;
        if (outcome === "timeout") {
          // Nothing announced: claim only if a run is due (a write transaction otherwise wasted).
          const next = await this.orchestration.nextDueAt(pool);
          if (next === null || next > Date.now()) continue;
        }
        items = await this.orchestration.claimFlowRuns(pool, workerId, max, Date.now());
      }
      return items;
    } finally {
      this.claims.delete(ticket);
    }
  }
}
