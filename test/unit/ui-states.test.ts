/** The dashboard's state table is the server's (src/core/states.ts), grouped by type. */
import { describe, expect, it } from "vitest";
import { STATE_GROUPS } from "../../ui/src/states.ts";
import { STATE_NAME_TYPE, STATE_NAMES, STATE_TYPES } from "../../src/core/states.ts";

describe("the dashboard's state table", () => {
  it("lists every state type once, in the server's order, with every name under its type", () => {
    expect(STATE_GROUPS.map((g) => g.type)).toEqual(STATE_TYPES);
    expect(STATE_GROUPS.flatMap((g) => g.names).sort()).toEqual([...STATE_NAMES].sort());
    for (const group of STATE_GROUPS) for (const name of group.names) expect(STATE_NAME_TYPE[name]).toBe(group.type);
  });

  it("is the table the dashboard showed when it was written by hand", () => {
    expect(STATE_GROUPS).toEqual([
      { type: "SCHEDULED", label: "Scheduled", names: ["Scheduled", "Late", "AwaitingRetry"] },
      { type: "PENDING", label: "Pending", names: ["Pending"] },
      { type: "RUNNING", label: "Running", names: ["Running", "Retrying"] },
      { type: "PAUSED", label: "Paused", names: ["Paused"] },
      { type: "CANCELLING", label: "Cancelling", names: ["Cancelling"] },
      { type: "COMPLETED", label: "Completed", names: ["Completed", "Cached"] },
      { type: "FAILED", label: "Failed", names: ["Failed", "TimedOut"] },
      { type: "CANCELLED", label: "Cancelled", names: ["Cancelled"] },
      { type: "CRASHED", label: "Crashed", names: ["Crashed"] },
    ]);
  });
});
