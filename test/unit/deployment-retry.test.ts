import { describe, expect, it } from "vitest";
import { deploymentRetryState, proposalAlreadyApplied } from "../../src/core/deployment-retry.ts";
import { makeState } from "../../src/core/states.ts";

const crashed = makeState("Crashed", { message: "the flow run's process could not start: its working directory /srv/ml (job variable cwd) is not a directory" });
const base = { ended: crashed, errorName: null, deployment: { retries: 2, retryDelayMs: 5_000 }, retriesUsed: 0, now: 1_000_000 };

describe("deployment retries", () => {
  it("schedules Crashed and Failed runs of a deployment while retries are left, counting the retries used", () => {
    expect(deploymentRetryState(base)).toMatchObject({ name: "AwaitingRetry", type: "SCHEDULED", scheduledAt: 1_005_000, timestamp: crashed.timestamp });
    expect(deploymentRetryState({ ...base, retriesUsed: 1 })!.message).toMatch(/^retry 2 of 2 after Crashed: the flow run's process could not start: its working directory \/srv\/ml/);
    expect(deploymentRetryState({ ...base, retriesUsed: 2 })).toBeNull();
    expect(deploymentRetryState({ ...base, ended: makeState("Failed", { message: "boom" }) })!.message).toBe("retry 1 of 2 after Failed: boom");
    expect(deploymentRetryState({ ...base, ended: makeState("TimedOut") })!.message).toBe("retry 1 of 2 after TimedOut");
  });

  it("leaves other runs where they ended", () => {
    expect(deploymentRetryState({ ...base, deployment: null })).toBeNull();
    expect(deploymentRetryState({ ...base, deployment: { retries: 0, retryDelayMs: 0 } })).toBeNull();
    for (const name of ["Completed", "Cancelled", "Running", "Pending"] as const) expect(deploymentRetryState({ ...base, ended: makeState(name) })).toBeNull();
    // A retry would fail the same way.
    expect(deploymentRetryState({ ...base, ended: makeState("Failed"), errorName: "NonRetryableError" })).toBeNull();
    expect(deploymentRetryState({ ...base, ended: makeState("Failed"), errorName: "ParameterValidationError" })).toBeNull();
  });

  it("recognises a proposal whose outcome is stored (sent again after its answer was lost)", () => {
    const retry = deploymentRetryState(base)!;
    expect(proposalAlreadyApplied(retry, crashed)).toBe(true);
    expect(proposalAlreadyApplied(crashed, crashed)).toBe(true);
    expect(proposalAlreadyApplied(retry, { ...crashed, timestamp: crashed.timestamp + 1 })).toBe(false);
    expect(proposalAlreadyApplied(retry, makeState("Completed", { timestamp: crashed.timestamp }))).toBe(false);
  });

  it("quotes a long reason only in part", () => {
    const message = deploymentRetryState({ ...base, ended: makeState("Crashed", { message: "x".repeat(5_000) }) })!.message!;
    expect(message.length).toBeLessThan(400);
    expect(message.endsWith("…")).toBe(true);
  });
});
