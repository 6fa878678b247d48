/** Pauses of a flow run for input (`pauseFlowRun`): what a run asks for, and the answer given. */
import { z } from "zod";
import type { FlowRunInput } from "../core/flow-run-inputs.ts";
import { apiId, epochMs, jsonObject } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

const pauseKey = z.string().min(1).max(200);

/** `POST /api/flow-runs/{id}/pause`: what the paused run asks for (its own process sends it). */
export const InputRequestSchema = z.strictObject({
  key: pauseKey,
  schema: jsonObject.nullable().describe("JSON Schema the input must pass; null: any JSON"),
  description: z.string().max(10_000).nullable(),
  timeoutAt: epochMs.nullable().describe("when the pause times out; null: never"),
  default: z.unknown().optional().describe("the input taken when the timeout passes; absent: the run fails then"),
});

/** A pause as stored and shown; `default` and `input` appear only when there is one. */
export const FlowRunInputSchema = z
  .object({
    flowRunId: z.string(),
    key: z.string(),
    schema: jsonObject.nullable(),
    description: z.string().nullable(),
    timeoutAt: epochMs.nullable(),
    default: z.unknown().optional(),
    createdAt: epochMs,
    input: z.unknown().optional().describe("the input given (validated); absent until supplied"),
    suppliedAt: epochMs.nullable(),
    suppliedBy: z.string().nullable().describe('who supplied it: "api", "cli", "automation …", "timeout default"'),
  })
  .meta({ id: "FlowRunInput" });
export type FlowRunInputRecord = z.output<typeof FlowRunInputSchema>;
export const FlowRunInputListSchema = z.array(FlowRunInputSchema);

/** `POST /api/flow-runs/{id}/resume`. */
export const ResumeFlowRunSchema = z.strictObject({
  input: z.unknown().optional().describe("the input; must pass the pause's schema (see input-request)"),
  key: pauseKey.optional().describe("the pause answered; refused (409) when the run now waits on another"),
  pausedAt: epochMs.optional().describe("compare-and-set: refused (409) unless the run is still in the Paused state of this timestamp"),
});
export type ResumeFlowRun = z.output<typeof ResumeFlowRunSchema>;

export const InputKeyParamsSchema = z.object({ id: apiId, key: pauseKey });
export type InputKeyParams = z.output<typeof InputKeyParamsSchema>;

/** Compile-time: the engine's record of a pause (core/flow-run-inputs.ts) is this schema's. */
export const FLOW_RUN_INPUT_MATCHES_CORE: Equal<FlowRunInputRecord, FlowRunInput> = true;
