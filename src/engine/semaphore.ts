import { Fifo } from "./fifo.ts";
import { onAbort } from "./timing.ts";

interface Waiter {
  grant(): void;
  /** Stopped waiting (its signal aborted): the slot goes to the next one. */
  gone: boolean;
}

/** A counting semaphore for a flow's `maxConcurrency`; waiters are served first come, first served. */
export class Semaphore {
  private readonly waiting = new Fifo<Waiter>();
  private inUse = 0;

  constructor(readonly limit: number) {}

  /** Takes a slot, waiting for one; rejects with the signal's reason if it aborts first (a stopped flow run's task never starts). */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.inUse < this.limit) {
      this.inUse++;
      return;
    }
    if (signal?.aborted) throw signal.reason;
    await new Promise<void>((resolve, reject) => {
      const unwatch = signal ? onAbort(signal, () => {
        waiter.gone = true;
        reject(signal.reason);
      }) : undefined;
      const waiter: Waiter = {
        grant: () => {
          unwatch?.();
          resolve();
        },
        gone: false,
      };
      this.waiting.push(waiter);
    });
  }

  release(): void {
    // The slot passes straight to the next waiter still waiting.
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) if (!next.gone) return next.grant();
    this.inUse--;
  }

  get active(): number {
    return this.inUse;
  }
}
