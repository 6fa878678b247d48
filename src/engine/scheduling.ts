/**
 * The scheduler's pass: for each deployment, the slots of its active schedules within the
 * horizon become Scheduled runs, and Scheduled runs not started `lateAfterMs` after their time
 * become Late. Idempotent per (deployment, slot): running it twice, or on two servers and any
 * number of workers at once, creates each run once (a unique index decides).
 */
import { nextSlots, type ScheduleSpec } from "../core/schedule.ts";
import type { Deployment, OrchestrationStore } from "../store/types.ts";

export interface Horizon {
  /** How far ahead runs are created (ms)... */
  scheduleHorizonMs: number;
  /** ...and at most this many per schedule. */
  scheduleMaxRuns: number;
}

/** Creates the missing runs of one deployment's active schedules (idempotent per slot). */
export async function scheduleDeployment(orchestration: OrchestrationStore, deployment: Deployment, options: Horizon, now = Date.now()): Promise<number> {
  if (deployment.paused) return 0;
  const slots = new Set<number>();
  for (const schedule of deployment.schedules) {
    if (!schedule.active) continue;
    for (const slot of nextSlots(schedule.spec as unknown as ScheduleSpec, now - 1, { until: now + options.scheduleHorizonMs, limit: options.scheduleMaxRuns })) slots.add(slot);
  }
  return orchestration.scheduleRuns(deployment, [...slots].sort((a, b) => a - b));
}

/** One pass of the scheduler over every deployment. */
export async function scheduleDeployments(orchestration: OrchestrationStore, options: Horizon, now = Date.now()): Promise<number> {
  let created = 0;
  for (const deployment of await orchestration.listDeployments()) created += await scheduleDeployment(orchestration, deployment, options, now);
  return created;
}


export interface SchedulerOptions extends Horizon {
  /** A Scheduled run not started this long after its time becomes Late (ms). */
  lateAfterMs: number;
}

/** One pass: runs of every deployment's schedules (or only `deployment`'s), then late marking. */
export async function runSchedulerPass(orchestration: OrchestrationStore, options: SchedulerOptions & { deployment?: string }, now = Date.now()): Promise<{ created: number; late: string[] }> {
  let created = 0;
  if (options.deployment) {
    const deployment = await orchestration.getDeployment(options.deployment);
    if (deployment) created = await scheduleDeployment(orchestration, deployment, options, now);
  } else created = await scheduleDeployments(orchestration, options, now);
  const late = await orchestration.markLateRuns(now, options.lateAfterMs);
  return { created, late };
}
