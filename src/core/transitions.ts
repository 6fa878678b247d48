/**
 * The orchestration rules: which state changes a run may make, decided in one place.
 *
 * Every proposed transition (a run's current state, possibly none, to a proposed state) goes
 * through `ORCHESTRATION_POLICY`, an ordered list of small rules. Each rule declares the state
 * types it concerns and returns a decision, or nothing to let the next rule speak:
 *   - accept: the transition is stored;
 *   - reject: it is refused, the run keeps its state (the caller gets the reason);
 *   - abort:  refused, and the proposer must stop working on the run (it is being cancelled);
 *   - wait:   refused for now; propose again after `delayMs` (a retry that is not yet due).
 * When no rule decides, the transition is accepted. `force` (admins, recovery tools) skips
 * every rule except the ones that keep the data itself consistent.
 * The module is pure: it reads only its arguments, so tests can try every pair of states.
 */
import { STATE_NAME_TYPE, STATE_TYPES, type State, type StateName, type StateType } from "./states.ts";

export type Decision =
  | { kind: "accept" }
  | { kind: "reject"; reason: string; rule: string }
  | { kind: "abort"; reason: string; rule: string }
  | { kind: "wait"; reason: string; rule: string; delayMs: number };

export interface TransitionContext {
  /** The run's current state; `null` for a run being created. */
  from: Pick<State, "type" | "name" | "scheduledAt"> | null;
  to: Pick<State, "type" | "name" | "scheduledAt">;
  /** Skip the policy rules (not the consistency rules). */
  force?: boolean;
  /** Current time, epoch ms; defaults to `Date.now()`. */
  now?: number;
}

type TypeOrNew = StateType | null;

export interface TransitionRule {
  name: string;
  /** States this rule applies to; `null` in `from` means "a run being created". */
  from: readonly TypeOrNew[] | "any";
  to: readonly StateType[] | "any";
  /** Consistency rules apply even when the transition is forced. */
  appliesWhenForced?: boolean;
  decide(ctx: Required<Omit<TransitionContext, "force">>): Decision | undefined;
}

const RETRYABLE_END: readonly StateType[] = ["FAILED", "CRASHED", "CANCELLED"];

const reject = (rule: string, reason: string): Decision => ({ kind: "reject", rule, reason });

/**
 * The state types each type may move to (policy rules below refine it by state name).
 * A run that ended Failed, Crashed or Cancelled can be resumed (to Pending) or retried (to
 * Scheduled: AwaitingRetry); a Completed run is final. As in Prefect, any run that has not
 * ended may be marked Crashed: the process that owned it died, whatever the run was doing —
 * running, waiting for its retry (AwaitingRetry) or paused.
 */
export const ALLOWED_TYPE_TRANSITIONS: Readonly<Record<StateType | "NEW", readonly StateType[]>> = {
  NEW: ["SCHEDULED", "PENDING"],
  SCHEDULED: ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "CANCELLED", "FAILED", "CRASHED"],
  PENDING: ["SCHEDULED", "RUNNING", "PAUSED", "CANCELLING", "CANCELLED", "COMPLETED", "FAILED", "CRASHED"],
  RUNNING: ["SCHEDULED", "PAUSED", "CANCELLING", "CANCELLED", "COMPLETED", "FAILED", "CRASHED"],
  // A paused run resumes in place (Running), or is rescheduled (Scheduled) for a worker to
  // start again when it was suspended (its process exited while it waited for input).
  PAUSED: ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "CANCELLED", "FAILED", "CRASHED"],
  CANCELLING: ["CANCELLED", "COMPLETED", "FAILED", "CRASHED"],
  COMPLETED: [],
  FAILED: ["SCHEDULED", "PENDING"],
  CANCELLED: ["SCHEDULED", "PENDING"],
  // A run marked Crashed by the heartbeat detector may still be alive (a long GC pause, a
  // suspended laptop): its late report of the real outcome is kept rather than lost.
  CRASHED: ["SCHEDULED", "PENDING", "COMPLETED", "FAILED"],
};

/** The state types from which a run may be marked Crashed: every type that has not ended. */
export const CRASHABLE_TYPES: readonly StateType[] = STATE_TYPES.filter((type) => ALLOWED_TYPE_TRANSITIONS[type].includes("CRASHED"));

export const ORCHESTRATION_POLICY: readonly TransitionRule[] = [
  {
    // A state name must belong to its type: the stored history is read by type everywhere.
    name: "NameMatchesType",
    from: "any",
    to: "any",
    appliesWhenForced: true,
    decide: ({ to }) =>
      STATE_NAME_TYPE[to.name as StateName] === to.type
        ? undefined
        : reject("NameMatchesType", `state name ${to.name} is not of type ${to.type}`),
  },
  {
    // Two writers racing to finish a run (the run itself and a cancel or crash sweep) must not
    // both win: the second one sees a terminal state and is refused.
    name: "CompletedIsFinal",
    from: ["COMPLETED"],
    to: "any",
    decide: () => reject("CompletedIsFinal", "the run already Completed; a completed run cannot change state"),
  },
  {
    // While a cancel is in progress, nothing may start new work on the run.
    name: "StopWorkWhenCancelling",
    from: ["CANCELLING"],
    to: ["SCHEDULED", "PENDING", "RUNNING", "PAUSED"],
    decide: ({ to }) => ({
      kind: "abort",
      rule: "StopWorkWhenCancelling",
      reason: `the run is being cancelled; it cannot move to ${to.name}`,
    }),
  },
  {
    name: "AllowedTypeTransitions",
    from: "any",
    to: "any",
    decide: ({ from, to }) => {
      const allowed = ALLOWED_TYPE_TRANSITIONS[from ? from.type : "NEW"];
      if (allowed.includes(to.type)) return undefined;
      return reject(
        "AllowedTypeTransitions",
        from
          ? `cannot move from ${from.name} (${from.type}) to ${to.name} (${to.type})`
          : `a new run cannot start in ${to.name} (${to.type}); it starts Scheduled or Pending`,
      );
    },
  },
  {
    // A new run waits for its time (Scheduled) or for a worker (Pending); the other SCHEDULED
    // names describe runs that already existed.
    name: "NewRunStartsScheduledOrPending",
    from: [null],
    to: "any",
    decide: ({ to }) =>
      to.name === "Scheduled" || to.name === "Pending"
        ? undefined
        : reject("NewRunStartsScheduledOrPending", `a new run starts Scheduled or Pending, not ${to.name}`),
  },
  {
    // Scheduled -> Scheduled is only a relabel: a scheduled run becoming Late (once).
    name: "OnlyLateRelabelsScheduled",
    from: ["SCHEDULED"],
    to: ["SCHEDULED"],
    decide: ({ from, to }) =>
      to.name === "Late" && from?.name === "Scheduled"
        ? undefined
        : reject("OnlyLateRelabelsScheduled", `cannot move from ${from?.name} to ${to.name}`),
  },
  {
    name: "LateOnlyFromScheduled",
    from: "any",
    to: ["SCHEDULED"],
    decide: ({ from, to }) =>
      to.name === "Late" && (from?.type !== "SCHEDULED" || from.name === "AwaitingRetry")
        ? reject("LateOnlyFromScheduled", "only a Scheduled run can become Late")
        : undefined,
  },
  {
    // Retrying means "an attempt after a failure": it follows AwaitingRetry, nothing else.
    name: "RetryingFollowsAwaitingRetry",
    from: "any",
    to: ["RUNNING"],
    decide: ({ from, to }) =>
      to.name === "Retrying" && from?.name !== "AwaitingRetry"
        ? reject("RetryingFollowsAwaitingRetry", `Retrying must follow AwaitingRetry, not ${from?.name ?? "nothing"}`)
        : undefined,
  },
  {
    // A run may skip running only when its result comes from the cache.
    name: "CompletedFromPendingOnlyIfCached",
    from: ["PENDING"],
    to: ["COMPLETED"],
    decide: ({ to }) =>
      to.name === "Cached" ? undefined : reject("CompletedFromPendingOnlyIfCached", "a run must be Running before it Completes (unless Cached)"),
  },
  {
    name: "ResumeOnlyToRetryStates",
    from: RETRYABLE_END,
    to: ["SCHEDULED", "PENDING"],
    decide: ({ from, to }) =>
      to.type === "SCHEDULED" && to.name !== "AwaitingRetry" && to.name !== "Scheduled"
        ? reject("ResumeOnlyToRetryStates", `a ${from?.name} run can be rescheduled (AwaitingRetry/Scheduled), not made ${to.name}`)
        : undefined,
  },
  {
    // A resumed run is due again, not late nor a retry: the Paused -> Scheduled move is the
    // resume itself, and a Late or AwaitingRetry label would tell a wrong history (and retry
    // counts would charge a failure that never happened).
    name: "PausedResumesAsScheduled",
    from: ["PAUSED"],
    to: ["SCHEDULED"],
    decide: ({ to }) => (to.name === "Scheduled" ? undefined : reject("PausedResumesAsScheduled", `a Paused run is resumed as Scheduled, not ${to.name}`)),
  },
  {
    // A retry that is not due yet must not start early (a worker polling too soon).
    name: "WaitForScheduledTime",
    from: ["SCHEDULED"],
    to: ["RUNNING", "PENDING"],
    decide: ({ from, now }) => {
      const due = from?.scheduledAt;
      if (due == null || due <= now) return undefined;
      return { kind: "wait", rule: "WaitForScheduledTime", reason: `the run is scheduled for ${new Date(due).toISOString()}`, delayMs: due - now };
    },
  },
];

function matches(list: readonly TypeOrNew[] | "any", value: TypeOrNew): boolean {
  return list === "any" || list.includes(value);
}

/** Runs a proposed transition through the policy and returns the decision. */
export function decideTransition(ctx: TransitionContext): Decision {
  const full = { from: ctx.from, to: ctx.to, now: ctx.now ?? Date.now() };
  const fromType = ctx.from ? ctx.from.type : null;
  for (const rule of ORCHESTRATION_POLICY) {
    if (ctx.force && !rule.appliesWhenForced) continue;
    if (!matches(rule.from, fromType) || !matches(rule.to as readonly TypeOrNew[] | "any", ctx.to.type)) continue;
    const decision = rule.decide(full);
    if (decision) return decision;
  }
  return { kind: "accept" };
}
