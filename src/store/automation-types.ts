/** Automations as the store keeps them, and the store's interface for them (automation-store.ts). */
import type { AutomationSpec } from "../core/automation-spec.ts";
import type { MatchedEvent } from "../core/automation-triggers.ts";
import type { Measurement } from "../core/automation-metrics.ts";
import type { EventRecord, NewEvent } from "../core/event-records.ts";

export interface Automation {
  id: string;
  name: string;
  /** As written (and checked: server/automations.ts). */
  spec: AutomationSpec;
  paused: boolean;
  /** Created, replaced or resumed at: its windows count events received since. */
  activeSince: number;
  createdAt: number;
  updatedAt: number;
}

export const ACTION_STATUSES = ["pending", "running", "succeeded", "failed"] as const;
/** pending: due at `nextAttemptAt`; running: an executor holds it until then; succeeded / failed: done. */
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** One attempt of an action. */
export interface ActionOutcome {
  attempt: number;
  at: number;
  ok: boolean;
  error?: string;
  /** What it did: the run it started, the event it emitted, the webhook's status. */
  result?: unknown;
}

export interface AutomationActionRecord {
  id: string;
  firingId: string;
  automationId: string;
  /** Its position in the spec's `actions`. */
  index: number;
  type: string;
  status: ActionStatus;
  attempts: number;
  nextAttemptAt: number;
  outcomes: ActionOutcome[];
  updatedAt: number;
}

export interface AutomationFiring {
  id: string;
  automationId: string;
  bucket: string;
  reason: string;
  firedAt: number;
  windowStart: number;
  windowEnd: number;
  events: MatchedEvent[];
  /** The event that completed the firing (templates read it); null for a proactive firing. */
  event: EventRecord | null;
  /** What a metric trigger measured when it fired; null for event triggers. */
  measurement: Measurement | null;
  actions: AutomationActionRecord[];
}

/** An action an executor claimed, with what it needs to run it. */
export interface ClaimedAction {
  action: AutomationActionRecord;
  automation: Automation;
  firing: Omit<AutomationFiring, "actions">;
}

export interface AutomationStore {
  /** Stores a checked spec; an AutomationExistsError if the name is taken. Emits baton.automation.created. */
  createAutomation(spec: AutomationSpec): Promise<Automation>;
  /** Replaces the spec (its trigger state starts over); undefined if there is none. Emits baton.automation.updated. */
  replaceAutomation(idOrName: string, spec: AutomationSpec): Promise<Automation | undefined>;
  /** Pausing stops its evaluation; resuming starts its windows over. Emits paused / resumed when it changes. */
  setAutomationPaused(idOrName: string, paused: boolean): Promise<Automation | undefined>;
  /** Deletes it with its state, firings and pending actions. Emits baton.automation.deleted. */
  deleteAutomation(idOrName: string): Promise<boolean>;
  getAutomation(idOrName: string): Promise<Automation | undefined>;
  listAutomations(): Promise<Automation[]>;
  /** Its firings, newest first, each with its actions. */
  listFirings(automationId: string, limit: number): Promise<AutomationFiring[]>;
  /**
   * Reads the event log after the cursor (at most `limit` events), advances every active
   * automation's trigger, checks proactive deadlines when the log is read to its end, and
   * commits the buckets, the firings (with their actions, pending, and their
   * baton.automation.triggered events) and the new cursor in one transaction — or nothing, when
   * another process moved the cursor first.
   */
  evaluateAutomations(options: { limit: number; now?: number }): Promise<{ events: number; firings: number; caughtUp: boolean }>;
  /**
   * Measures every active metric trigger that is due (its `every` passed), and commits each
   * one's hysteresis state with its firing, when the condition became true, in one transaction.
   * A trigger another process measured meanwhile (a second server) is left to that one's result.
   */
  evaluateMetricTriggers(options?: { now?: number }): Promise<{ measured: number; firings: number }>;
  /** Due actions (pending, or running past their lease: their executor died), each claimed for `leaseMs`. */
  claimDueActions(now: number, leaseMs: number, limit: number): Promise<ClaimedAction[]>;
  /**
   * Records an attempt of a claimed action: succeeded, failed for good, or pending again at
   * `nextAttemptAt`; with `events` (an action-failed) in the same transaction. False when the
   * claim was lost (its lease ran out and another executor took it).
   */
  recordActionAttempt(action: AutomationActionRecord, outcome: ActionOutcome, next: { status: ActionStatus; nextAttemptAt: number }, events?: readonly NewEvent[]): Promise<boolean>;
}
