/**
 * The scheduler's pass: for each deployment, the slots of its active schedules within the
 * horizon become Scheduled runs (made as every deployment run is: deployment-runs.ts), and
 * Scheduled runs not started `lateAfterMs` after their time become Late. Idempotent per
 * (deployment, slot): running it twice, or on two servers and any number of workers at once,
 * creates each run once (a unique index decides).
 */
import { nextSlots, type ScheduleSpec } from "../core/schedule.ts";
import type { Deployment, NewFlowRun, SchedulerStore } from "../store/types.ts";
import { deploymentRun } from "./deployment-runs.ts";
import { scheduledRunEntry } from "./audit-entries.ts";
import { InvalidParametersError } from "./errors.ts";

export interface Horizon {
  /** How far ahead runs are created (ms)... */
  scheduleHorizonMs: number;
  /** ...and at most this many per schedule. */
  scheduleMaxRuns: number;
  /**
   * Slots up to this long ago that have no run yet are made too (ms; default 0: none): the
   * slots after the deployment's latest run that nobody scheduled while no scheduler ran (a
   * leader died and the next one took over seconds later). The pass catches up for as long as
   * a run takes to become Late; older slots are skipped.
   */
  catchUpMs?: number;
}

/**
 * Creates the missing runs of one deployment's active schedules (idempotent per slot). An
 * InvalidParametersError when the deployment's own defaults fail its schema: every run would.
 */
export async function scheduleDeployment(scheduler: SchedulerStore, deployment: Deployment, options: Horizon, now = Date.now()): Promise<number> {
  if (deployment.paused) return 0;
  // From the latest slot made, when it is recent: the slots after it were missed. A deployment
  // with no run (new) starts now: its schedules did not exist before.
  let after = now - 1;
  if (options.catchUpMs) {
    const latest = await scheduler.latestSlot(deployment.id);
    if (latest !== null && latest < after) after = Math.max(latest, now - options.catchUpMs);
  }
  // Each slot once, credited to the first schedule that has it (the audit log names it).
  const slots = new Map<number, string>();
  for (const schedule of deployment.schedules) {
    if (!schedule.active) continue;
    for (const slot of nextSlots(schedule.spec as unknown as ScheduleSpec, after, { until: now + options.scheduleHorizonMs, limit: options.scheduleMaxRuns })) if (!slots.has(slot)) slots.set(slot, schedule.id);
  }
  const runs = slotRuns(deployment, [...slots.keys()].sort((a, b) => a - b));
  return scheduler.scheduleRuns(deployment, runs, (run) => scheduledRunEntry(deployment, slots.get(run.expectedStartTime ?? -1) ?? null, run, now));
}

/** The runs the scheduler makes for these slots of a deployment's schedules, each due at its slot. */
export function slotRuns(deployment: Deployment, slots: readonly number[]): NewFlowRun[] {
  return slots.map((slot) => deploymentRun(deployment, { scheduledAt: slot, expectedStartTime: slot, message: "created by the scheduler" }));
}

/** A deployment the pass made no runs for, and why (its defaults fail its parameter schema). */
export interface UnschedulableDeployment {
  deployment: string;
  reason: string;
}

/** Schedules each deployment; one whose defaults its parameter schema refuses is skipped and reported. */
async function scheduleEach(scheduler: SchedulerStore, deployments: readonly Deployment[], options: Horizon, now: number): Promise<{ created: number; refused: UnschedulableDeployment[] }> {
  let created = 0;
  const refused: UnschedulableDeployment[] = [];
  for (const deployment of deployments) {
    try {
      created += await scheduleDeployment(scheduler, deployment, options, now);
    } catch (error) {
      if (!(error instanceof InvalidParametersError)) throw error;
      refused.push({ deployment: deployment.name, reason: error.message });
    }
  }
  return { created, refused };
}

export interface SchedulerOptions extends Horizon {
  /** A Scheduled run not started this long after its time becomes Late (ms). */
  lateAfterMs: number;
}

/** One pass: runs of every deployment's schedules (or only `deployment`'s), then late marking. */
export async function runSchedulerPass(
  scheduler: SchedulerStore,
  options: SchedulerOptions & { deployment?: string },
  now = Date.now(),
): Promise<{ created: number; late: string[]; refused: UnschedulableDeployment[] }> {
  const deployments = options.deployment
    ? [await scheduler.getDeployment(options.deployment)].filter((d): d is Deployment => d !== undefined)
    : await scheduler.listDeployments();
  const outcome = await scheduleEach(scheduler, deployments, { catchUpMs: options.lateAfterMs, ...options }, now);
  const late = await scheduler.markLateRuns(now, options.lateAfterMs);
  return { ...outcome, late };
}
