/**
 * The automations' background service in each server process: the evaluator follows the event
 * log (store/automation-store.ts commits each batch's trigger states, firings and cursor in one
 * transaction, and only one process's commit of a batch succeeds) and measures the metric
 * triggers that are due (each at its own `every`), and the executor runs the
 * actions of committed firings from their outbox — each claimed for a lease, retried with
 * exponential backoff up to `actionAttempts`, every attempt recorded, and a last failure
 * recorded with a `baton.automation.action-failed` event in the same transaction.
 */
import type { FastifyBaseLogger } from "fastify";
import { actionFailedEvent } from "../core/automation-events.ts";
import type { AutomationStore, ClaimedAction } from "../store/automation-types.ts";
import { isPermanentActionError, runAction, type ActionDependencies } from "./automation-actions.ts";

export interface AutomationServiceOptions {
  /** How often the evaluator reads the event log, checks proactive deadlines and looks for due metric triggers (ms). */
  evaluateMs: number;
  /** Events per evaluator transaction. */
  batch: number;
  /** How often the executor looks for due actions (ms). */
  actionMs: number;
  /** Attempts of an action before it fails for good. */
  actionAttempts: number;
  /** The wait after the first failed attempt (ms), doubling after each. */
  actionBackoffMs: number;
  /** The longest wait between attempts (ms). */
  actionBackoffMaxMs: number;
  /** How long an executor holds an action it claimed (ms); past it, another process takes it over. */
  actionLeaseMs: number;
  /** How often idle `for_each` buckets are deleted (ms). */
  pruneMs: number;
}

export const AUTOMATION_SERVICE_DEFAULTS: AutomationServiceOptions = {
  evaluateMs: 1000,
  batch: 500,
  actionMs: 500,
  actionAttempts: 4,
  actionBackoffMs: 2000,
  actionBackoffMaxMs: 5 * 60_000,
  actionLeaseMs: 5 * 60_000,
  pruneMs: 10 * 60_000,
};

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function actionBackoff(attempt: number, o: Pick<AutomationServiceOptions, "actionBackoffMs" | "actionBackoffMaxMs">): number {
  return Math.min(o.actionBackoffMaxMs, o.actionBackoffMs * 2 ** (attempt - 1));
}

export interface AutomationService {
  /** One evaluator pass, to the end of the log (tests call it to not wait for the timer). */
  evaluate(): Promise<number>;
  /** One executor pass over the due actions. */
  execute(): Promise<number>;
  /** Stops the timers and waits for the work in progress. */
  stop(): Promise<void>;
}

export function startAutomationService(automations: AutomationStore, deps: ActionDependencies, options: Partial<AutomationServiceOptions>, log: FastifyBaseLogger): AutomationService {
  const o = { ...AUTOMATION_SERVICE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;

  const evaluate = async () => {
    let firings = 0;
    // To the end of the log, a bounded number of batches per pass (the next pass goes on).
    for (let i = 0; i < 20; i++) {
      const pass = await automations.evaluateAutomations({ limit: o.batch });
      firings += pass.firings;
      if (pass.caughtUp) break;
    }
    firings += (await automations.evaluateMetricTriggers()).firings;
    if (firings) log.info(`automations fired ${firings} time(s)`);
    return firings;
  };

  const attempt = async (claimed: ClaimedAction) => {
    const { action, automation } = claimed;
    const at = () => Date.now();
    try {
      const result = await runAction(claimed, deps);
      await automations.recordActionAttempt(action, { attempt: action.attempts, at: at(), ok: true, result }, { status: "succeeded", nextAttemptAt: at() });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const final = action.attempts >= o.actionAttempts || isPermanentActionError(error);
      const outcome = { attempt: action.attempts, at: at(), ok: false, error: message };
      if (!final) {
        await automations.recordActionAttempt(action, outcome, { status: "pending", nextAttemptAt: at() + actionBackoff(action.attempts, o) });
        return;
      }
      const failed = actionFailedEvent(automation, { id: action.id, firingId: action.firingId, index: action.index, type: action.type, attempts: action.attempts, error: message });
      await automations.recordActionAttempt(action, outcome, { status: "failed", nextAttemptAt: at() }, [failed]);
      log.warn({ automation: automation.name, action: action.index, type: action.type }, `automation action failed for good: ${message}`);
    }
  };

  const execute = async () => {
    const claimed = await automations.claimDueActions(Date.now(), o.actionLeaseMs, 20);
    await Promise.all(claimed.map((c) => attempt(c).catch((error: unknown) => log.warn({ err: error }, "automation action could not be recorded"))));
    return claimed.length;
  };

  const track = <T>(work: Promise<T>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => undefined);
    return work;
  };

  const every = (ms: number, name: string, work: () => Promise<unknown>) => {
    let running = false;
    const tick = () => {
      if (running || stopped) return;
      running = true;
      track(work())
        .catch((error: unknown) => log.warn({ err: error }, `${name} failed`))
        .finally(() => (running = false));
    };
    const timer = setInterval(tick, ms);
    timer.unref();
    timers.push(timer);
    setImmediate(tick);
  };
  every(o.evaluateMs, "automation evaluator", evaluate);
  every(o.actionMs, "automation actions", execute);
  every(o.pruneMs, "automation bucket pruning", () => automations.pruneIdleBuckets());

  return {
    evaluate: () => track(evaluate()),
    execute: () => track(execute()),
    async stop() {
      stopped = true;
      timers.forEach(clearInterval);
      await Promise.allSettled([...inFlight]);
    },
  };
}
