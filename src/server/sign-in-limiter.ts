/**
 * Failed sign-ins per client address, as token buckets: each address may fail `burst` times
 * in a row, then once per `refillMs`. While its bucket is empty every sign-in from it is
 * refused (429) — the right key too, or a guesser would learn when it found one. Only failures
 * take tokens: people who type their key right are never slowed.
 */

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class SignInLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst = 5,
    private readonly refillMs = 10_000,
    /** Addresses tracked at most; the least recently failing go first. */
    private readonly capacity = 10_000,
  ) {}

  /** 0 when `address` may try to sign in now, else how long until it may (ms). */
  waitMs(address: string, now = Date.now()): number {
    const tokens = this.tokens(address, now);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * this.refillMs);
  }

  /** A sign-in from `address` failed: it takes a token. */
  failed(address: string, now = Date.now()): void {
    const tokens = this.tokens(address, now) - 1;
    this.buckets.delete(address);
    this.buckets.set(address, { tokens, updatedAt: now });
    while (this.buckets.size > this.capacity) this.buckets.delete(this.buckets.keys().next().value!);
  }

  private tokens(address: string, now: number): number {
    const bucket = this.buckets.get(address);
    if (!bucket) return this.burst;
    const tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedAt) / this.refillMs);
    // A full bucket is the same as none: forget the address.
    if (tokens >= this.burst) this.buckets.delete(address);
    return tokens;
  }
}
