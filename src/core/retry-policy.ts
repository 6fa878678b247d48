/**
 * Retry delays. `retryDelayMs` is a number (the same delay every time), an array (the n-th
 * retry uses the n-th entry, the last one repeating) or an exponential backoff.
 * `retryJitter` (0..1) spreads each delay by up to that fraction either way, so that a fan-out
 * of failing tasks does not retry in lock-step against the same service.
 */

export interface ExponentialBackoff {
  kind: "exponential";
  baseMs: number;
  factor: number;
  maxMs: number;
}

export type RetryDelay = number | readonly number[] | ExponentialBackoff;

/** Delays of `baseMs * factor^(retry-1)`, capped at `maxMs`. */
export function exponentialBackoff(options: { baseMs?: number; factor?: number; maxMs?: number } = {}): ExponentialBackoff {
  const backoff: ExponentialBackoff = {
    kind: "exponential",
    baseMs: options.baseMs ?? 1000,
    factor: options.factor ?? 2,
    maxMs: options.maxMs ?? 10 * 60_000,
  };
  for (const key of ["baseMs", "factor", "maxMs"] as const) {
    if (!Number.isFinite(backoff[key]) || backoff[key] < 0)
      throw new TypeError(`exponentialBackoff: ${key} must be a finite number >= 0, got ${String(options[key])}`);
  }
  if (backoff.factor < 1) throw new TypeError(`exponentialBackoff: factor must be >= 1, got ${backoff.factor}`);
  return backoff;
}

/**
 * The delay before retry number `retry` (1 for the first retry).
 * `random` is injectable so that tests can pin the jitter.
 */
export function retryDelayFor(delay: RetryDelay, retry: number, jitter = 0, random: () => number = Math.random): number {
  let base: number;
  if (typeof delay === "number") base = delay;
  else if (Array.isArray(delay)) base = delay.length === 0 ? 0 : (delay[Math.min(retry, delay.length) - 1] ?? 0);
  else {
    const exp = delay as ExponentialBackoff;
    base = Math.min(exp.maxMs, exp.baseMs * Math.pow(exp.factor, Math.max(0, retry - 1)));
  }
  if (jitter > 0) base = base * (1 - jitter + 2 * jitter * random());
  return Math.max(0, Math.round(base));
}
