/** State types and the names beneath each (as the server's src/core/states.ts defines them). */
export const STATE_GROUPS: readonly { type: string; label: string; names: readonly string[] }[] = [
  { type: "SCHEDULED", label: "Scheduled", names: ["Scheduled", "Late", "AwaitingRetry"] },
  { type: "PENDING", label: "Pending", names: ["Pending"] },
  { type: "RUNNING", label: "Running", names: ["Running", "Retrying"] },
  { type: "PAUSED", label: "Paused", names: ["Paused"] },
  { type: "CANCELLING", label: "Cancelling", names: ["Cancelling"] },
  { type: "COMPLETED", label: "Completed", names: ["Completed", "Cached"] },
  { type: "FAILED", label: "Failed", names: ["Failed", "TimedOut"] },
  { type: "CANCELLED", label: "Cancelled", names: ["Cancelled"] },
  { type: "CRASHED", label: "Crashed", names: ["Crashed"] },
];
