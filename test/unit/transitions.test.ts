/**
 * The orchestration rules, exhaustively: every (from, to) pair of state names, including
 * creation (from nothing). The expectations are derived here from the state model's principles
 * (Prefect's), one rule at a time, not copied from the module's tables: a change to the module
 * that breaks a principle fails a pair.
 */
import { describe, expect, it } from "vitest";
import { CRASHABLE_TYPES, decideTransition } from "../../src/core/transitions.ts";
import { makeState, STATE_NAME_TYPE, STATE_NAMES, type StateName } from "../../src/core/states.ts";

const COMPLETED: StateName[] = ["Completed", "Cached"];
const ENDED_UNFINISHED: StateName[] = ["Failed", "TimedOut", "Cancelled", "Crashed"];
const ENDED: StateName[] = [...COMPLETED, ...ENDED_UNFINISHED];
const WAITING_TO_START: StateName[] = ["Scheduled", "Late", "AwaitingRetry"];
const RUNNING: StateName[] = ["Running", "Retrying"];
const RESTARTS: StateName[] = ["Pending", "Scheduled", "AwaitingRetry"];

/** Whether the model lets a run in `from` (or a new run) move to `to`. */
function expectedAccept(from: StateName | "NEW", to: StateName): boolean {
  // A run is created waiting: for its time (Scheduled) or for a worker (Pending).
  if (from === "NEW") return to === "Scheduled" || to === "Pending";
  // Completed is final: its result is what dependents and resumes rely on.
  if (COMPLETED.includes(from)) return false;
  // Any run that has not ended may crash (its process died, whatever it was doing); an ended one may not.
  if (to === "Crashed") return !ENDED.includes(from);
  // An ended run can only be restarted (resumed or rescheduled) — except a Crashed one, which
  // may still be alive after all and report how it really ended.
  if (ENDED_UNFINISHED.includes(from))
    return RESTARTS.includes(to) || (from === "Crashed" && [...COMPLETED, "Failed", "TimedOut"].includes(to));
  // Names that tell a history: Late is a Scheduled run past its time; Retrying follows AwaitingRetry.
  if (to === "Late") return from === "Scheduled";
  if (to === "Retrying") return from === "AwaitingRetry";
  // A run being cancelled may only end.
  if (from === "Cancelling") return ENDED.includes(to);
  // A run that has not ended may always be stopped or fail.
  if (["Failed", "TimedOut", "Cancelled", "Cancelling"].includes(to)) return true;
  // Completing takes running — or a cache hit, which skips it.
  if (to === "Completed") return RUNNING.includes(from);
  if (to === "Cached") return from === "Pending" || RUNNING.includes(from);
  // Starting: from waiting, pending or paused (not from running: that is Retrying, after a wait).
  if (to === "Running") return [...WAITING_TO_START, "Pending", "Paused"].includes(from);
  if (to === "Pending") return [...WAITING_TO_START, "Paused"].includes(from);
  // A paused run resumes by being scheduled again (a worker starts a suspended run afresh);
  // it did not fail, so it is not awaiting a retry.
  if (to === "Scheduled" && from === "Paused") return true;
  // (Re)scheduling and pausing concern a run that was pending or running.
  if (to === "Scheduled" || to === "AwaitingRetry" || to === "Paused") return from === "Pending" || RUNNING.includes(from);
  return false;
}

const state = (name: StateName) => makeState(name, { timestamp: 1_000 });

describe("decideTransition", () => {
  const pairs: [StateName | "NEW", StateName][] = [];
  for (const from of ["NEW", ...STATE_NAMES] as const) for (const to of STATE_NAMES) pairs.push([from, to]);

  it("covers all 15 x 14 pairs", () => expect(pairs).toHaveLength(15 * 14));

  it.each(pairs)("%s -> %s", (from, to) => {
    const decision = decideTransition({ from: from === "NEW" ? null : state(from), to: state(to), now: 2_000 });
    expect(decision.kind === "accept", JSON.stringify(decision)).toBe(expectedAccept(from, to));
    if (decision.kind !== "accept") expect(decision.reason.length).toBeGreaterThan(10);
  });

  it("lets every run that has not ended crash, and no other (the crash sweep relies on it)", () => {
    const unfinished = STATE_NAMES.filter((name) => !ENDED.includes(name));
    expect(new Set(CRASHABLE_TYPES)).toEqual(new Set(unfinished.map((name) => STATE_NAME_TYPE[name])));
    for (const name of unfinished) expect(decideTransition({ from: state(name), to: state("Crashed") }).kind, name).toBe("accept");
  });

  it("aborts work proposed on a run that is being cancelled", () => {
    for (const to of ["Pending", "Running", "Scheduled", "Paused"] as const) {
      const decision = decideTransition({ from: state("Cancelling"), to: state(to) });
      expect(decision).toMatchObject({ kind: "abort", rule: "StopWorkWhenCancelling" });
    }
  });

  it("makes an early start of a scheduled run wait, with the delay", () => {
    const from = makeState("AwaitingRetry", { scheduledAt: 10_000 });
    expect(decideTransition({ from, to: state("Retrying"), now: 7_500 })).toMatchObject({ kind: "wait", delayMs: 2_500 });
    expect(decideTransition({ from, to: state("Retrying"), now: 10_000 }).kind).toBe("accept");
    expect(decideTransition({ from: makeState("Scheduled", { scheduledAt: 5_000 }), to: state("Pending"), now: 4_000 }).kind).toBe("wait");
    // A crash is not work: it does not wait for the scheduled time.
    expect(decideTransition({ from, to: state("Crashed"), now: 7_500 }).kind).toBe("accept");
  });

  it("lets force skip the policy but never a name that does not match its type", () => {
    expect(decideTransition({ from: state("Completed"), to: state("Running"), force: true }).kind).toBe("accept");
    expect(decideTransition({ from: state("Completed"), to: state("Running") })).toMatchObject({ kind: "reject", rule: "CompletedIsFinal" });
    const lying = { type: "COMPLETED" as const, name: "Failed" as const, timestamp: 1 };
    expect(decideTransition({ from: state("Running"), to: lying, force: true })).toMatchObject({ kind: "reject", rule: "NameMatchesType" });
  });

  it("every state name maps to one of the nine types", () => {
    expect(new Set(Object.values(STATE_NAME_TYPE)).size).toBe(9);
    expect(STATE_NAMES).toHaveLength(14);
    expect(() => makeState("Exploded" as StateName)).toThrow(/unknown state name "Exploded"/);
  });
});
