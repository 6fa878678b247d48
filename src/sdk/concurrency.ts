/**
 * Global concurrency and rate limits usable from any code (a flow, a task, a script).
 *
 * @example
 * await using slot = await concurrency("gpu", 1);         // one slot, released when the block ends
 * await concurrency("warehouse", { slots: 2 }, async () => load());  // callback form
 * await rateLimit("openai");                              // waits for a slot of a rate limit
 */
import { acquireHeld, type HeldSlots } from "../engine/concurrency.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { getRuntime } from "./runtime.ts";

export interface ConcurrencyOptions {
  /** Slots to take of each limit (default 1). */
  slots?: number;
  /** Give up (throw) after waiting this long. */
  timeoutMs?: number;
}

/**
 * Takes slots of the named limits, waiting while they are full. The second argument is the
 * number of slots (default 1) or options; with a function, the slots are held while it runs.
 */
export function concurrency(names: string | string[], slotsOrOptions?: number | ConcurrencyOptions): Promise<HeldSlots>;
export function concurrency<T>(names: string | string[], slotsOrOptions: number | ConcurrencyOptions, fn: () => Promise<T> | T): Promise<T>;
export async function concurrency<T>(names: string | string[], slotsOrOptions: number | ConcurrencyOptions = {}, fn?: () => Promise<T> | T): Promise<HeldSlots | T> {
  const list = typeof names === "string" ? [names] : names;
  if (list.length === 0 || list.some((n) => typeof n !== "string" || !n)) throw new TypeError("concurrency() needs one or more limit names");
  const options: ConcurrencyOptions = typeof slotsOrOptions === "number" ? { slots: slotsOrOptions } : slotsOrOptions;
  const runtime = await getRuntime();
  const ctx = currentEngineContext();
  const held = await acquireHeld(runtime.orchestration, list, {
    slots: options.slots,
    timeoutMs: options.timeoutMs,
    holder: ctx ? `${ctx.task ? `task-run:${ctx.task.id}` : `flow-run:${ctx.flow.flowRun.id}`}` : undefined,
    signal: ctx?.task?.signal ?? ctx?.flow.controller.signal,
  });
  if (!fn) return held;
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** Takes slots of rate limits (limits with a slot decay): they free themselves over time. */
export async function rateLimit(names: string | string[], options: ConcurrencyOptions = {}): Promise<void> {
  const list = typeof names === "string" ? [names] : names;
  const runtime = await getRuntime();
  await acquireHeld(runtime.orchestration, list, { ...options, renew: false });
}
