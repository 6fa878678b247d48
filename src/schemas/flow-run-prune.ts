/** `POST /api/flow-runs/prune`: run retention on demand (`baton flow-run prune` in remote mode). */
import { z } from "zod";
import { epochMs } from "./fields.ts";

/** Most flow runs one call deletes: each call stays well inside the client's and server's timeouts; the CLI calls again while `more`. */
export const PRUNE_MAX_RUNS_PER_CALL = 5_000;

export const FlowRunPruneSchema = z.strictObject({
  endedBefore: epochMs.describe("delete flow runs in a final state (Completed, Failed, Cancelled, Crashed) that ended before this instant (epoch ms)"),
  dryRun: z.boolean().describe("default false: only count what would be deleted").optional(),
  limit: z.int().min(1).max(PRUNE_MAX_RUNS_PER_CALL).describe(`flow runs deleted at most by this call (default and maximum ${PRUNE_MAX_RUNS_PER_CALL}); \`more\` says whether some remain`).optional(),
});
export type FlowRunPrune = z.output<typeof FlowRunPruneSchema>;

export const FlowRunPruneAnswerSchema = z.object({
  endedBefore: epochMs,
  dryRun: z.boolean(),
  flowRuns: z.int().min(0).describe("flow runs deleted (a dry run: that would be)"),
  taskRuns: z.int().min(0).describe("their task runs"),
  more: z.boolean().describe("prunable flow runs remain: call again"),
});
export type FlowRunPruneAnswer = z.output<typeof FlowRunPruneAnswerSchema>;
