import { Fifo } from "./fifo.ts";

/** A counting semaphore for a flow's `maxConcurrency`; waiters are served first come, first served. */
export class Semaphore {
  private readonly waiting = new Fifo<() => void>();
  private inUse = 0;

  constructor(readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.inUse < this.limit) {
      this.inUse++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.inUse--;
  }

  get active(): number {
    return this.inUse;
  }
}
