/**
 * Group commits for run bookkeeping. Concurrent task runs hand their writes (task-run
 * snapshots, states, results, logs) to one batcher; it applies everything queued in one store
 * transaction per turn of the event loop, so a fan-out of 10,000 tasks costs a few hundred
 * commits instead of 40,000. A sequential task's Running and Completed writes share a commit.
 *
 * Ordering guarantee: `write()` resolves only after the transaction holding its ops committed,
 * and batches commit in the order they were queued. The engine resolves a task's future after
 * its completion write resolves, so no dependent ever sees an uncommitted result.
 */
import type { Store, WriteOp } from "../store/types.ts";

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class WriteBatcher {
  private queue: WriteOp[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  /** Commits made, for benchmarks and tests. */
  commits = 0;

  constructor(private readonly store: Pick<Store, "applyWrites">) {}

  /** Queues ops; resolves once they are committed. */
  /** Sees every op as it is queued (the CLI's live view counts task states from them). */
  observer: ((ops: readonly WriteOp[]) => void) | null = null;

  write(ops: WriteOp[]): Promise<void> {
    for (const op of ops) this.queue.push(op);
    this.observer?.(ops);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Queues ops without waiting; a failure surfaces on the next awaited write or `drain()`. */
  post(ops: WriteOp[]): void {
    this.write(ops).catch((error: unknown) => {
      this.backgroundError ??= error;
    });
  }

  private backgroundError: unknown = undefined;

  /** Resolves when everything queued so far is committed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else await this.write([]);
    }
    if (this.backgroundError !== undefined) {
      const error = this.backgroundError;
      this.backgroundError = undefined;
      throw error;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate runs after pending microtasks: every task that finished in this turn joins.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.waiters.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const ops = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    try {
      if (ops.length > 0) {
        await this.store.applyWrites(ops);
        this.commits++;
      }
      for (const w of waiters) w.resolve();
    } catch (error) {
      for (const w of waiters) w.reject(error);
    }
  }
}
