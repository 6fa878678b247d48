/**
 * Concurrency and rate limits from code, and the slot leases behind tag limits.
 *
 * A slot is a lease with an expiry, renewed while its holder lives (every third of the TTL);
 * a holder that dies (SIGKILL) stops renewing and its slots come back when the lease expires,
 * so a crash never leaks a slot. Waiting for a slot polls with a small backoff.
 *
 * The guarantee, honestly: a limit is never exceeded while holders can reach the store. A
 * holder that cannot renew for longer than the TTL (the store or the server down, the event loop
 * stalled) may lose its lease, and another holder may then take the slot while this one still
 * runs: the limit is exceeded until this one finishes. It is not stopped (its work may not be
 * interruptible); it logs a warning to its run's logs when renewals fail past the TTL, and when
 * the store answers again and says the lease is gone it logs that and re-takes a slot as soon
 * as one is free.
 */
import { BatonError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Lease, OrchestrationStore } from "../store/types.ts";
import { currentEngineContext } from "./run-context.ts";
import { abortableSleep } from "./timing.ts";

/** Lease lifetime; renewed every third of it. */
export const LEASE_TTL_MS = Number(process.env.BATON_LEASE_TTL_MS) || 15_000;

export interface HeldSlots {
  /** The leases held now (a lease lost and re-taken is replaced in place). */
  readonly leases: Lease[];
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface AcquireOptions {
  slots?: number;
  holder?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** false for rate limits: their slots free themselves and are neither renewed nor released. */
  renew?: boolean;
  /** Lease lifetime (default LEASE_TTL_MS). */
  ttlMs?: number;
  /** Where lease warnings go (default: the current run's logger, else stderr). */
  warn?: (message: string) => void;
}

function defaultWarn(): (message: string) => void {
  const logger = currentEngineContext()?.flow.logger;
  return logger ? (message) => logger.warn(message) : (message) => void process.stderr.write(`baton: ${message}\n`);
}

/**
 * Takes `slots` of every named limit (waiting while they are full) and keeps the leases alive
 * until released. Names without a limit are not waited for.
 */
export async function acquireHeld(orchestration: OrchestrationStore, names: string[], options: AcquireOptions = {}): Promise<HeldSlots> {
  const slots = options.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1) throw new TypeError(`slots must be an integer >= 1, got ${String(slots)}`);
  const holder = options.holder ?? `process:${process.pid}:${newId()}`;
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  let wait = 25;
  let leases: Lease[] | null;
  for (;;) {
    leases = await orchestration.acquireSlots(names, holder, slots, ttlMs, Date.now());
    if (leases) break;
    if (Date.now() + wait > deadline) throw new BatonError(`no slot of ${names.join(", ")} became free within ${options.timeoutMs} ms`);
    await abortableSleep(wait, options.signal);
    wait = Math.min(1000, Math.round(wait * 1.5));
  }
  const held = leases;
  const renewable = options.renew !== false && held.length > 0;
  const keeper = renewable ? keepAlive(orchestration, held, holder, ttlMs, options.warn ?? defaultWarn()) : null;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    keeper?.stop();
    if (options.renew !== false) await orchestration.releaseLeases(held.map((l) => l.id));
  };
  return { leases: held, release, [Symbol.asyncDispose]: release };
}

/**
 * Renews `held` every third of the TTL. Renewal failures are retried on the next tick and
 * reported once they last longer than the TTL; a lease the store no longer has (it expired and
 * was cleaned up) is reported and re-taken, replacing it in `held`, as soon as a slot is free.
 */
function keepAlive(orchestration: OrchestrationStore, held: Lease[], holder: string, ttlMs: number, warn: (message: string) => void): { stop(): void } {
  let lastRenewed = Date.now();
  let warnedFailing = false;
  const lost = new Set<string>(); // ids of leases reported lost, not yet re-taken
  const gone = new Set<string>(); // leases of limits deleted since: nothing to hold any more
  let busy = false;
  const tick = async () => {
    let renewed: string[];
    try {
      renewed = await orchestration.renewLeases(held.filter((l) => !gone.has(l.id)).map((l) => l.id), ttlMs, Date.now());
    } catch (error) {
      const failingFor = Date.now() - lastRenewed;
      if (failingFor > ttlMs && !warnedFailing) {
        warnedFailing = true;
        warn(
          `could not renew the lease of ${describe(held)} for ${failingFor} ms (longer than its ${ttlMs} ms lifetime): ${(error as Error).message}. ` +
            `The slot may have expired and been taken by another holder, so the limit may be exceeded until this one releases; it will be re-taken when the store answers`,
        );
      }
      return;
    }
    lastRenewed = Date.now();
    warnedFailing = false;
    for (const [i, lease] of held.entries()) {
      if (renewed.includes(lease.id) || gone.has(lease.id)) continue;
      if (!lost.has(lease.id)) {
        lost.add(lease.id);
        warn(`the lease of ${describe([lease])} expired before it could be renewed (another holder may have its slot): re-taking a slot`);
      }
      // One attempt per tick, without waiting: the holder keeps running meanwhile.
      const again = await orchestration.acquireSlots([lease.limitName], holder, lease.slots, ttlMs, Date.now()).catch(() => null);
      if (again && again.length === 0) {
        lost.delete(lease.id);
        gone.add(lease.id); // the limit was deleted: there is no slot to take
      } else if (again?.[0]) {
        lost.delete(lease.id);
        held[i] = again[0];
        warn(`re-took a slot of limit "${lease.limitName}"`);
      }
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tick().finally(() => (busy = false));
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function describe(leases: Lease[]): string {
  return leases.map((l) => `${l.slots} slot(s) of limit "${l.limitName}"`).join(", ");
}
