/** Automations and notification channels as the API answers them, and their one-line summaries. */
import type { ChannelType } from "../../src/core/notification-channels.ts";

export type { ChannelType };

export interface ActionOutcome {
  attempt: number;
  at: number;
  ok: boolean;
  error?: string;
  result?: unknown;
}

export interface FiringAction {
  id: string;
  index: number;
  type: string;
  status: "pending" | "running" | "succeeded" | "failed";
  attempts: number;
  outcomes: ActionOutcome[];
}

export interface Firing {
  id: string;
  bucket: string;
  reason: string;
  firedAt: number;
  events: { id: string; event: string }[];
  event: { event: string; resource: { id: string; name?: string | null } } | null;
  actions: FiringAction[];
}

export interface AutomationSpec {
  name: string;
  description?: string;
  trigger: Record<string, unknown>;
  actions: { type: string; [field: string]: unknown }[];
}

export interface Automation {
  id: string;
  name: string;
  spec: AutomationSpec;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  lastFiring?: Firing | null;
  firings?: Firing[];
}

export interface NotificationChannel {
  id: string;
  name: string;
  type: ChannelType;
  description?: string;
  settings: { url?: string; to?: string[]; [field: string]: unknown };
  updatedAt: number;
}

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
