/**
 * The audit entries of runs Baton starts on its own: a schedule's (the scheduler's pass) and an
 * automation's (its run-deployment action). The actor is the schedule or the automation, so an
 * auditor can tell them from runs people started (whose entries the server writes per call).
 */
import type { NewAuditEntry } from "../core/audit-chain.ts";
import type { Deployment, FlowRun } from "../store/types.ts";

/** A run the scheduler made for `schedule` of `deployment`. */
export function scheduledRunEntry(deployment: Deployment, scheduleId: string | null, run: FlowRun, now = Date.now()): NewAuditEntry {
  const schedule = deployment.schedules.find((s) => s.id === scheduleId);
  return {
    at: now,
    actor: { kind: "schedule", id: scheduleId, name: `schedule of deployment ${deployment.name}`, role: null },
    action: "flow-run.scheduled",
    targets: [run.id, deployment.name, deployment.id],
    status: null,
    outcome: "success",
    clientIp: null,
    requestId: null,
    detail: { deployment: deployment.name, slot: run.expectedStartTime, schedule: schedule ? schedule.spec : null },
  };
}

/** What an automation's run-deployment action started, and the firing that led to it. */
export interface AutomationRunOrigin {
  automation: { id: string; name: string };
  firingId: string;
  actionId: string;
  /** The triggering event (null for a metric or absence trigger). */
  event: { id: string; event: string; occurred: number; resource: { id: string } } | null;
  reason: string | null;
}

export function automationRunEntry(origin: AutomationRunOrigin, deployment: string, run: FlowRun, now = Date.now()): NewAuditEntry {
  return {
    at: now,
    actor: { kind: "automation", id: origin.automation.id, name: origin.automation.name, role: null },
    action: "flow-run.automation",
    targets: [run.id, deployment, origin.automation.id],
    status: null,
    outcome: "success",
    clientIp: null,
    requestId: null,
    detail: {
      deployment,
      firing: origin.firingId,
      action: origin.actionId,
      reason: origin.reason,
      event: origin.event ? { id: origin.event.id, event: origin.event.event, occurred: origin.event.occurred, resource: origin.event.resource.id } : null,
    },
  };
}
