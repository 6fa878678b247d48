/** Timeouts and sleeps that respect abort signals. */
import { RunCancelledError, RunTimeoutError } from "../core/errors.ts";

/**
 * Runs `call`, failing with `RunTimeoutError` after `timeoutMs` (and aborting `controller`, so
 * code watching its signal stops) or with the outer signal's reason when that aborts first.
 * JavaScript cannot stop a promise: code that ignores its signal keeps running in the
 * background, but its outcome is no longer recorded.
 */
export function withTimeout<T>(
  call: () => T | Promise<T>,
  options: { timeoutMs: number | null; name: string; controller: AbortController; signal?: AbortSignal },
): Promise<T> {
  const { timeoutMs, controller, signal } = options;
  if (timeoutMs == null && !signal) return Promise.resolve().then(call);
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      cleanup();
      reject(signal?.reason ?? new RunCancelledError(`${options.name} was stopped`));
    };
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeoutMs != null) {
      timer = setTimeout(() => {
        const error = new RunTimeoutError(options.name, timeoutMs);
        cleanup();
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    }
    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    }
    Promise.resolve()
      .then(call)
      .then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
  });
}

/** Sleeps until the clock reaches `at` (timers may fire a little early; this never does). */
export async function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  for (let left = at - Date.now(); left > 0 || signal?.aborted; left = at - Date.now()) await abortableSleep(left, signal);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
