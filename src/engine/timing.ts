/** Timeouts and sleeps that respect abort signals. */
import { RunCancelledError, RunTimeoutError } from "../core/errors.ts";

const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` aborts; returns the unsubscribe. Every task of a flow run
 * watches the run's one signal, and EventTarget.addEventListener scans all listeners already
 * there for a duplicate: with n tasks in flight that is n² work (61% of a 40,000-task fan-out).
 * So each signal gets one real listener, and the watchers go in a Set (constant time both ways).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = watchers.get(signal);
  if (!set) {
    const fresh = new Set<() => void>();
    watchers.set(signal, (set = fresh));
    signal.addEventListener(
      "abort",
      () => {
        const all = [...fresh];
        fresh.clear();
        for (const watcher of all) watcher();
      },
      { once: true },
    );
  }
  set.add(fn);
  const watching = set;
  return () => void watching.delete(fn);
}

/**
 * Runs `call`, failing with `RunTimeoutError` after `timeoutMs` (and aborting `controller`, so
 * code watching its signal stops) or with the outer signal's reason when that aborts first.
 * JavaScript cannot stop a promise: code that ignores its signal keeps running in the
 * background, but its outcome is no longer recorded.
 */
export function withTimeout<T>(
  call: () => T | Promise<T>,
  options: { timeoutMs: number | null; name: string; controller: Pick<AbortController, "abort">; signal?: AbortSignal },
): Promise<T> {
  const { timeoutMs, controller, signal } = options;
  if (timeoutMs == null && !signal) return RESOLVED.then(call);
  if (signal?.aborted) return Promise.reject(signal.reason ?? new RunCancelledError(`${options.name} was stopped`));
  // Few closures and promises: a fan-out's task runs each make one of these.
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let unwatch: (() => void) | undefined;
    const settle = (ok: boolean, outcome: unknown) => {
      if (timer) clearTimeout(timer);
      unwatch?.();
      if (ok) resolve(outcome as T);
      else reject(outcome);
    };
    if (timeoutMs != null) {
      timer = setTimeout(() => {
        const error = new RunTimeoutError(options.name, timeoutMs);
        controller.abort(error);
        settle(false, error);
      }, timeoutMs);
    }
    if (signal) unwatch = onAbort(signal, () => settle(false, signal.reason ?? new RunCancelledError(`${options.name} was stopped`)));
    RESOLVED.then(call).then(
      (value) => settle(true, value),
      (error: unknown) => settle(false, error),
    );
  });
}

const RESOLVED = Promise.resolve();

/** Sleeps until the clock reaches `at` (timers may fire a little early; this never does). */
export async function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  for (let left = at - Date.now(); left > 0 || signal?.aborted; left = at - Date.now()) await abortableSleep(left, signal);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      unwatch?.();
      resolve();
    }, ms);
    const unwatch = signal ? onAbort(signal, () => {
      clearTimeout(timer);
      reject(signal.reason);
    }) : undefined;
  });
}
