/**
 * Concurrency and rate limits from code, and the slot leases behind tag limits.
 *
 * A slot is a lease with an expiry, renewed while its holder lives (every third of the TTL);
 * a holder that dies (SIGKILL) stops renewing and its slots come back when the lease expires,
 * so a crash never leaks a slot. Waiting for a slot polls with a small backoff.
 */
import { BatonError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Lease, OrchestrationStore } from "../store/types.ts";
import { abortableSleep } from "./timing.ts";

/** Lease lifetime; renewed every third of it. */
export const LEASE_TTL_MS = Number(process.env.BATON_LEASE_TTL_MS) || 15_000;

export interface HeldSlots {
  readonly leases: Lease[];
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Takes `slots` of every named limit (waiting while they are full) and keeps the leases alive
 * until released. Names without a limit are not waited for.
 */
export async function acquireHeld(
  orchestration: OrchestrationStore,
  names: string[],
  options: { slots?: number; holder?: string; signal?: AbortSignal; timeoutMs?: number; renew?: boolean } = {},
): Promise<HeldSlots> {
  const slots = options.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1) throw new TypeError(`slots must be an integer >= 1, got ${String(slots)}`);
  const holder = options.holder ?? `process:${process.pid}:${newId()}`;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  let wait = 25;
  let leases: Lease[] | null;
  for (;;) {
    leases = await orchestration.acquireSlots(names, holder, slots, LEASE_TTL_MS, Date.now());
    if (leases) break;
    if (Date.now() + wait > deadline) throw new BatonError(`no slot of ${names.join(", ")} became free within ${options.timeoutMs} ms`);
    await abortableSleep(wait, options.signal);
    wait = Math.min(1000, Math.round(wait * 1.5));
  }
  const held = leases;
  const renewable = options.renew !== false && held.length > 0;
  const timer = renewable
    ? setInterval(() => {
        orchestration.renewLeases(held.map((l) => l.id), LEASE_TTL_MS, Date.now()).catch(() => undefined);
      }, Math.max(100, Math.floor(LEASE_TTL_MS / 3)))
    : null;
  timer?.unref();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    if (timer) clearInterval(timer);
    if (options.renew !== false) await orchestration.releaseLeases(held.map((l) => l.id));
  };
  return { leases: held, release, [Symbol.asyncDispose]: release };
}
