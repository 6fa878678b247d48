/** Automations as the store keeps them (their records: schemas/automation.ts), and the store's interface for them (automation-store.ts). */
import type { AutomationSpec } from "../core/automation-spec.ts";
import type { NewEvent } from "../core/event-records.ts";
import type { ActionOutcome, ActionStatus, Automation, AutomationActionRecord, AutomationFiring } from "../schemas/automation.ts";

export { ACTION_STATUSES } from "../schemas/automation.ts";
export type { ActionOutcome, ActionStatus, Automation, AutomationActionRecord, AutomationFiring } from "../schemas/automation.ts";

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
  /** Deletes reactive `for_each` buckets idle for `idleMs` (default 1 h) whose events left the window; returns how many. */
  pruneIdleBuckets(options?: { now?: number; idleMs?: number; limit?: number }): Promise<number>;
  /** Due actions (pending, or running past their lease: their executor died), each claimed for `leaseMs`. */
  claimDueActions(now: number, leaseMs: number, limit: number): Promise<ClaimedAction[]>;
  /**
   * Records an attempt of a claimed action: succeeded, failed for good, or pending again at
   * `nextAttemptAt`; with `events` (an action-failed) in the same transaction. False when the
   * claim was lost (its lease ran out and another executor took it).
   */
  recordActionAttempt(action: AutomationActionRecord, outcome: ActionOutcome, next: { status: ActionStatus; nextAttemptAt: number }, events?: readonly NewEvent[]): Promise<boolean>;
}
