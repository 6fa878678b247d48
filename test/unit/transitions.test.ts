/**
 * The orchestration rules, exhaustively: every (from, to) pair of state names, including
 * creation (from nothing), against an expectation table written out independently of the
 * module's own tables.
 */
import { describe, expect, it } from "vitest";
import { decideTransition } from "../../src/core/transitions.ts";
import { makeState, STATE_NAME_TYPE, STATE_NAMES, type StateName } from "../../src/core/states.ts";

/** Every accepted transition, by state name. Anything not listed must be refused. */
const ALLOWED: Record<StateName | "NEW", StateName[]> = {
  NEW: ["Scheduled", "Pending", "AwaitingRetry"],
  Scheduled: ["Late", "Pending", "Running", "Cancelling", "Cancelled", "Failed", "TimedOut"],
  Late: ["Pending", "Running", "Cancelling", "Cancelled", "Failed", "TimedOut"],
  AwaitingRetry: ["Pending", "Running", "Retrying", "Cancelling", "Cancelled", "Failed", "TimedOut"],
  Pending: ["Scheduled", "Late", "AwaitingRetry", "Running", "Paused", "Cancelling", "Cancelled", "Cached", "Failed", "TimedOut", "Crashed"],
  Running: ["Scheduled", "Late", "AwaitingRetry", "Paused", "Cancelling", "Cancelled", "Completed", "Cached", "Failed", "TimedOut", "Crashed"],
  Retrying: ["Scheduled", "Late", "AwaitingRetry", "Paused", "Cancelling", "Cancelled", "Completed", "Cached", "Failed", "TimedOut", "Crashed"],
  Paused: ["Pending", "Running", "Cancelling", "Cancelled", "Failed", "TimedOut"],
  Cancelling: ["Cancelled", "Completed", "Cached", "Failed", "TimedOut", "Crashed"],
  Completed: [],
  Cached: [],
  Failed: ["Scheduled", "AwaitingRetry", "Pending"],
  TimedOut: ["Scheduled", "AwaitingRetry", "Pending"],
  Cancelled: ["Scheduled", "AwaitingRetry", "Pending"],
  Crashed: ["Scheduled", "AwaitingRetry", "Pending", "Completed", "Cached", "Failed", "TimedOut"],
};

// Refinements of the table above that the policy rules make.
function expectedAccept(from: StateName | "NEW", to: StateName): boolean {
  if (to === "Late" && from !== "Scheduled") return false; // only a Scheduled run becomes Late
  if (to === "Retrying" && from !== "AwaitingRetry") return false; // Retrying follows AwaitingRetry
  if (from === "Pending" && to === "Completed") return false; // must run first, unless Cached
  if (from === "NEW" && to === "AwaitingRetry") return false; // a new run is Scheduled or Pending
  if (from === "AwaitingRetry" && to === "Late") return false;
  return ALLOWED[from].includes(to);
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
