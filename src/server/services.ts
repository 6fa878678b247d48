/** Background services of the server: the crashed-run detector and log retention. */
import type { FastifyBaseLogger } from "fastify";
import type { Store } from "../store/types.ts";

export interface ServiceOptions {
  /** How often to look for flow runs that missed their heartbeats (ms). */
  crashCheckMs: number;
  /** Logs older than this are deleted (ms); 0 keeps them forever. */
  logRetentionMs: number;
}

export const DEFAULT_SERVICE_OPTIONS: ServiceOptions = { crashCheckMs: 10_000, logRetentionMs: 30 * 24 * 3600_000 };

export function startServices(store: Store, options: Partial<ServiceOptions>, log: FastifyBaseLogger): { stop(): void } {
  const { crashCheckMs, logRetentionMs } = { ...DEFAULT_SERVICE_OPTIONS, ...options };
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, name: string, work: () => Promise<void>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      work()
        .catch((error: unknown) => log.warn({ err: error }, `${name} failed`))
        .finally(() => (running = false));
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  every(crashCheckMs, "crash detector", async () => {
    const crashed = await store.crashStaleFlowRuns(Date.now());
    if (crashed.length) log.warn({ crashed }, `marked ${crashed.length} flow run(s) Crashed: missed heartbeats`);
  });
  if (logRetentionMs > 0)
    every(Math.min(3600_000, logRetentionMs), "log retention", async () => {
      const deleted = await store.deleteLogsBefore(Date.now() - logRetentionMs);
      if (deleted) log.info(`log retention deleted ${deleted} log lines`);
    });
  return { stop: () => timers.forEach(clearInterval) };
}
