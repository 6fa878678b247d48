/**
 * Group commits for run bookkeeping. Concurrent task runs hand their writes (task-run
 * snapshots, states, results, logs) to one batcher; it applies everything queued in one store
 * transaction per turn of the event loop, so a fan-out of 10,000 tasks costs a few hundred
 * commits instead of 40,000. A sequential task's Running and Completed writes share a commit.
 *
 * Ordering guarantee: `write()` resolves only after the transaction holding its ops committed,
 * and batches commit in the order they were queued. The engine resolves a task's future after
 * its completion write resolves, so no dependent ever sees an uncommitted result.
 *
 * Failure scoping: the batcher is shared by every flow run of the process, so a failed batch is
 * re-applied in halves until only the writes that fail are rejected (not one the store gave up
 * on because the database stayed unreachable: every writer of it fails); a failed write that
 * nobody awaited (`post`) is reported to the flow run it belongs to, at that run's `drain()`.
 */
import { DatabaseUnreachableError } from "../core/errors.ts";
import type { RunStore, WriteOp } from "../store/types.ts";

/** Queued ops and who waits for them; a posted write (nobody waits) has `done` null. */
interface QueuedWrite {
  ops: WriteOp[];
  done: ((error?: unknown) => void) | null;
}

/** Failed background writes kept for flow runs that have not drained yet (a bound, not a goal). */
const MAX_KEPT_FAILURES = 1_000;

export class WriteBatcher {
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  /** The first failed background write of each flow run, until that run drains. */
  private readonly failures = new Map<string, unknown>();
  /** Commits made, for benchmarks and tests. */
  commits = 0;
  /** Sees every op as it is queued (the CLI's live view counts task states from them). */
  observer: ((ops: readonly WriteOp[]) => void) | null = null;

  constructor(private readonly store: Pick<RunStore, "applyWrites">) {}

  /** Queues ops; resolves once they are committed, rejects if they cannot be. */
  write(ops: WriteOp[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue(ops, (error) => (error === undefined ? resolve() : reject(error))));
  }

  /**
   * Queues ops and calls `done()` once they are committed, `done(error)` if they cannot be:
   * `write` without a promise, for the engine's hot path (a fan-out's task runs each make
   * several writes, and a promise costs more than the callback).
   */
  enqueue(ops: WriteOp[], done: (error?: unknown) => void): void {
    this.observer?.(ops);
    this.queue.push({ ops, done });
    this.schedule();
  }

  /** Queues ops without waiting; a failure surfaces at `drain()` of the flow run they belong to. */
  post(ops: WriteOp[]): void {
    this.observer?.(ops);
    this.queue.push({ ops, done: null });
    this.schedule();
  }

  /**
   * Tells a waiter its write is committed. Its callback (the engine's, settling a task run's
   * future) must not throw; if it does, that is a bug, reported as uncaught, and the other
   * waiters of the batch are still told.
   */
  private committed(w: QueuedWrite): void {
    if (w.done) this.notify(w.done, undefined);
  }

  private failed(w: QueuedWrite, error: unknown): void {
    if (w.done) return this.notify(w.done, error ?? new Error("write failed"));
    for (const flowRunId of flowRunsOf(w.ops)) {
      if (this.failures.has(flowRunId)) continue;
      if (this.failures.size >= MAX_KEPT_FAILURES) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(flowRunId, error);
    }
  }

  private notify(done: (error?: unknown) => void, error: unknown): void {
    try {
      done(error);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }

  /**
   * Resolves when everything queued so far is committed. With a flow run id, then rejects with
   * the first background write of that flow run that failed (reported once); other flow runs'
   * failures are not its concern.
   */
  async drain(flowRunId?: string): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else await this.write([]);
    }
    if (flowRunId === undefined || !this.failures.has(flowRunId)) return;
    const error = this.failures.get(flowRunId);
    this.failures.delete(flowRunId);
    throw error;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate runs after pending microtasks: every task that finished in this turn joins.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    const ops = batch.length === 1 ? batch[0]!.ops : batch.flatMap((w) => w.ops);
    try {
      if (ops.length > 0) {
        await this.store.applyWrites(ops);
        this.commits++;
      }
    } catch (error) {
      for (const w of batch) if (w.ops.length === 0) this.committed(w);
      // The store waited out the outage as long as it may: the halves would fail the same way,
      // or, were the database back by then, apply again under new batch ids ops that the lost
      // attempt may have committed.
      if (error instanceof DatabaseUnreachableError) {
        for (const w of batch) if (w.ops.length > 0) this.failed(w, error);
        return;
      }
      // One writer's bad op (a value the database refuses, a broken constraint) must not cost
      // the other flow runs their writes: find the failing writers by halves, in queue order.
      return this.applySeparately(batch.filter((w) => w.ops.length > 0), error);
    }
    // Outside the try: the writes are committed whatever a waiter's callback does.
    for (const w of batch) this.committed(w);
  }

  /** Applies writers whose combined batch failed with `error`, rejecting only those that fail. */
  private async applySeparately(writers: QueuedWrite[], error: unknown): Promise<void> {
    if (writers.length === 1) return this.failed(writers[0]!, error);
    const middle = writers.length >> 1;
    for (const half of [writers.slice(0, middle), writers.slice(middle)]) {
      try {
        await this.store.applyWrites(half.flatMap((w) => w.ops));
        this.commits++;
      } catch (halfError) {
        await this.applySeparately(half, halfError);
        continue;
      }
      for (const w of half) this.committed(w);
    }
  }
}

/** The flow runs that ops belong to. */
export function flowRunsOf(ops: readonly WriteOp[]): Set<string> {
  const ids = new Set<string>();
  for (const op of ops) {
    if (op.kind === "taskRun") ids.add(op.taskRun.flowRunId);
    else if (op.kind === "state") ids.add(op.state.flowRunId);
    else if (op.kind === "log") ids.add(op.log.flowRunId);
    else if (op.kind === "event") ids.add(op.flowRunId);
  }
  return ids;
}
