/** Automations and notification channels as the API answers them (the server's schemas, type-only: nothing of zod is bundled), and their one-line summaries. */
import type { AutomationActionRecord, AutomationDetail, AutomationFiring, AutomationSummary } from "../../src/schemas/automation.ts";
import type { NotificationChannel } from "../../src/schemas/notification-channel.ts";

export type { ActionOutcome, AutomationSpec } from "../../src/schemas/automation.ts";
export type { NotificationChannel };
export type { ChannelType } from "../../src/core/notification-channels.ts";
export type FiringAction = AutomationActionRecord;
export type Firing = AutomationFiring;
/** A listed automation (with its last firing) or an inspected one (with its last firings). */
export type Automation = Omit<AutomationSummary, "lastFiring"> & Partial<Pick<AutomationSummary, "lastFiring"> & Pick<AutomationDetail, "firings">>;

/** What `POST /api/notification-channels/{name}/test` answers (server/notification-channels.ts's `ChannelTestResult`). */
export interface ChannelTestResult {
  channel: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: string;
}

/** "etl.failed ×3 in 10m per related.flow", "no nightly.completed in 26h", "all of (a, b) in 1h". */
export function triggerText(trigger: Record<string, unknown>): string {
  const children = (trigger.all ?? trigger.any) as Record<string, unknown>[] | undefined;
  if (children) return `${trigger.all ? "all" : "any"} of (${children.map(triggerText).join(", ")})${trigger.within ? ` in ${String(trigger.within)}` : ""}`;
  const events = [trigger.event].flat().join(" | ");
  const threshold = Number(trigger.threshold ?? 1);
  const within = trigger.within && trigger.within !== "0s" ? ` in ${String(trigger.within)}` : "";
  const per = trigger.for_each ? ` per ${String(trigger.for_each)}` : "";
  return trigger.posture === "proactive" ? `no ${events}${within}${per}` : `${events}${threshold > 1 ? ` ×${threshold}` : ""}${within}${per}`;
}

/** A firing's outcome: "succeeded", "failed", or "pending" while any action still runs. */
export function firingOutcome(f: Firing): "succeeded" | "failed" | "pending" {
  if (f.actions.some((a) => a.status === "failed")) return "failed";
  return f.actions.every((a) => a.status === "succeeded") ? "succeeded" : "pending";
}

/** The state-badge class of an outcome or action status. */
export const outcomeClass = (status: string) => (status === "succeeded" ? "completed" : status === "failed" ? "failed" : "running");

/** Where a channel delivers (already masked by the server). */
export function channelTarget(c: NotificationChannel): string {
  return c.type === "email" ? `${(c.settings.to ?? []).join(", ")} via ${c.settings.url ?? ""}` : (c.settings.url ?? "");
}
