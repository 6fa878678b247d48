/**
 * A first-in, first-out queue with constant-time `shift`. `Array.prototype.shift` moves every
 * element, so draining a queue of n waiters that way costs n² (a million mapped tasks queued
 * behind a flow's `maxConcurrency` or its admission window).
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed prefix once it is half the array: amortised constant time per item.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
