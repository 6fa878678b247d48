/**
 * TaskFuture: the handle `task.submit()` returns. It is thenable (await it for the result) and
 * reports the task run's id and current state. Passing a future (or an array or plain object
 * holding futures) as an argument to another task makes that task wait for it and records the
 * dependency.
 */
import type { State } from "../core/states.ts";

const ignore = (): void => undefined;

export class TaskFuture<R> implements PromiseLike<R> {
  /** @internal */
  currentState: State;
  /** @internal set by `wait()`: the caller judges the outcome itself, so its failure does not stop a `failFast` flow run. */
  handled = false;

  constructor(
    readonly id: string,
    readonly taskName: string,
    readonly taskKey: string,
    /** @internal settles after the task run's final state is committed. */
    readonly promise: Promise<R>,
    initial: State,
    /** @internal false: the engine observes the promise itself, before it rejects (one promise less per task run). */
    observe = true,
  ) {
    this.currentState = initial;
    // A failed future nobody awaits must not crash the process as an unhandled rejection:
    // its failure is recorded in the store and reflected in the flow's outcome.
    if (observe) promise.catch(ignore);
  }

  /** The task run's latest state as known to this process. */
  state(): State {
    return this.currentState;
  }

  /** Waits for the task run to finish and returns its result (throws `TaskRunError` on failure). */
  result(): Promise<R> {
    return this.promise;
  }

  /**
   * Waits for the task run to finish without throwing; returns its final state. Called before
   * the run fails, it also marks the failure as handled: a `failFast` flow run goes on.
   */
  async wait(): Promise<State> {
    this.handled = true;
    await this.promise.catch(() => undefined);
    return this.currentState;
  }

  then<T1 = R, T2 = never>(
    onfulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.promise.then(onfulfilled, onrejected);
  }
}

/** Marks an argument of `task.map` to be passed whole to every call instead of mapped over. */
export class Unmapped<T> {
  constructor(readonly value: T) {}
}

export function unmapped<T>(value: T): Unmapped<T> {
  return new Unmapped(value);
}

/** Finds the futures in an argument: the value itself, or inside arrays and plain objects. */
export function collectFutures(value: unknown, into: TaskFuture<unknown>[] = [], depth = 0): TaskFuture<unknown>[] {
  if (value instanceof TaskFuture) into.push(value);
  else if (depth < 8 && Array.isArray(value)) for (const item of value) collectFutures(item, into, depth + 1);
  else if (depth < 8 && isPlainObject(value)) for (const item of Object.values(value)) collectFutures(item, into, depth + 1);
  return into;
}

/** Replaces futures by their (already settled) values. */
export async function resolveFutures(value: unknown, depth = 0): Promise<unknown> {
  if (value instanceof TaskFuture) return value.promise;
  if (depth < 8 && Array.isArray(value)) return Promise.all(value.map((v) => resolveFutures(v, depth + 1)));
  if (depth < 8 && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveFutures(v, depth + 1);
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
