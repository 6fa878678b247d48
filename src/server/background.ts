/**
 * Background jobs of the server: the scheduler (creates the runs of deployment schedules
 * ahead of time, once per slot; workers on the database run it too), the late-run marker, the
 * crashed-run detector (runs of dead processes and dead workers; the store reschedules those of
 * deployments with retries left), the pause timeouts (paused runs nobody resumed in time take
 * their default input or fail) and the retention of logs, events and (when
 * BATON_RUN_RETENTION_DAYS is set) finished flow runs.
 */
import type { FastifyBaseLogger } from "fastify";
import { runSchedulerPass } from "../services/scheduling.ts";
import { expirePauses } from "../services/pause-timeouts.ts";
import { loadSettings, schedulerSettings } from "../config/settings.ts";
import type { EventLogMaintenance, SchedulerStore, Store } from "../store/types.ts";
import type { KyselyRunRetention } from "../store/run-retention.ts";

export interface BackgroundOptions {
  /** How often to look for flow runs that missed their heartbeats (ms). */
  crashCheckMs: number;
  /** Logs older than this are deleted (ms); 0 keeps them forever. */
  logRetentionMs: number;
  /** Events that occurred longer ago than this are deleted (ms; BATON_EVENT_RETENTION_DAYS). */
  eventRetentionMs: number;
  /** Flow runs in a final state that ended longer ago than this are deleted (ms; BATON_RUN_RETENTION_DAYS); 0 keeps them forever. */
  runRetentionMs: number;
  /** How often run retention looks for runs to delete (ms; default: hourly, or the retention period if shorter). */
  runRetentionCheckMs?: number;
  /** How often the scheduler runs (ms). */
  schedulerMs: number;
  /** How far ahead runs are created (ms)... */
  scheduleHorizonMs: number;
  /** ...and at most this many per schedule. */
  scheduleMaxRuns: number;
  /** A Scheduled run not started this long after its time becomes Late (ms). */
  lateAfterMs: number;
  /** How often to look for paused runs whose timeout passed (ms). */
  pauseCheckMs: number;
}

/** The defaults; the scheduler's come from its settings (BATON_SCHEDULE_HORIZON_MS, ...). */
function defaults(): BackgroundOptions {
  const settings = loadSettings();
  return { crashCheckMs: 10_000, logRetentionMs: 30 * 24 * 3600_000, eventRetentionMs: settings.eventRetentionDays.value * 86_400_000, runRetentionMs: (settings.runRetentionDays.value ?? 0) * 86_400_000, schedulerMs: 5_000, pauseCheckMs: 1_000, ...schedulerSettings(settings) };
}

/** `runs` is null for a store that is not a database (no run retention then). */
export function startBackgroundJobs(store: Store, scheduler: SchedulerStore, eventLog: EventLogMaintenance, runs: KyselyRunRetention | null, options: Partial<BackgroundOptions>, log: FastifyBaseLogger): { stop(): void } {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<BackgroundOptions>;
  const o = { ...defaults(), ...given };
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, name: string, work: () => Promise<void>) => {
    let running = false;
    const tick = () => {
      if (running) return;
      running = true;
      work()
        .catch((error: unknown) => log.warn({ err: error }, `${name} failed`))
        .finally(() => (running = false));
    };
    const timer = setInterval(tick, ms);
    timer.unref();
    timers.push(timer);
    setImmediate(tick);
  };
  // Missed heartbeats count from the server's start, and from the database's return after a
  // check failed: heartbeats sent while either was down never arrived, and their runs may be
  // alive (their clients retry for BATON_API_RETRY_MS).
  let aliveSince = Date.now();
  let databaseFailed = false;
  every(o.crashCheckMs, "crash detector", async () => {
    if (databaseFailed) aliveSince = Date.now();
    let crashed: string[];
    try {
      crashed = await store.crashStaleFlowRuns(Date.now(), { aliveSince });
      databaseFailed = false;
    } catch (error) {
      databaseFailed = true;
      throw error;
    }
    // (Runs of deployments with retries left are scheduled again by the store, in the same commit.)
    if (crashed.length) log.warn({ crashed }, `marked ${crashed.length} flow run(s) Crashed: missed heartbeats`);
  });
  every(o.schedulerMs, "scheduler", async () => {
    const { created, late, refused } = await runSchedulerPass(scheduler, o);
    if (created) log.info(`scheduler created ${created} flow run(s)`);
    for (const { deployment, reason } of refused) log.warn(`deployment "${deployment}" gets no scheduled runs: its parameters fail its schema: ${reason}`);
    if (late.length) log.warn(`${late.length} scheduled run(s) are Late`);
  });
  every(o.pauseCheckMs, "pause timeouts", async () => {
    const { resumed, failed } = await expirePauses(store, Date.now());
    if (resumed.length) log.info({ resumed }, `${resumed.length} paused flow run(s) timed out and took their default input`);
    if (failed.length) log.warn({ failed }, `${failed.length} paused flow run(s) timed out waiting for input: Failed`);
  });
  if (o.logRetentionMs > 0)
    every(Math.min(3600_000, o.logRetentionMs), "log retention", async () => {
      const deleted = await store.deleteLogsBefore(Date.now() - o.logRetentionMs);
      if (deleted) log.info(`log retention deleted ${deleted} log lines`);
    });
  // Hourly, or at the retention period if it is shorter.
  every(Math.min(3600_000, o.eventRetentionMs), "event retention", async () => {
    const deleted = await eventLog.deleteEventsBefore(Date.now() - o.eventRetentionMs);
    if (deleted) log.info(`event retention deleted ${deleted} events`);
  });
  // In small transactions (run-retention.ts): writers never wait long behind it. Stopping the
  // server stops it between two of them.
  const stopping = new AbortController();
  if (runs && o.runRetentionMs > 0)
    every(o.runRetentionCheckMs ?? Math.min(3600_000, o.runRetentionMs), "run retention", async () => {
      const started = Date.now();
      const { flowRuns, taskRuns } = await runs.prune(started - o.runRetentionMs, { signal: stopping.signal });
      if (flowRuns) log.info(`run retention deleted ${flowRuns} flow run(s) and ${taskRuns} task run(s) that ended over ${o.runRetentionMs / 86_400_000} day(s) ago, in ${Date.now() - started} ms`);
    });
  return {
    stop: () => {
      stopping.abort();
      timers.forEach(clearInterval);
    },
  };
}
