/** Experiment tracking: what runs log (`logParams`, `logMetric`) and the experiments' views (core/experiments.ts). */
import { z } from "zod";
import { MAX_NAME_LENGTH, MAX_PARAM_JSON } from "../core/experiments.ts";
import { apiId, epochMs, itemsOf } from "./fields.ts";

const name = z.string().min(1).max(MAX_NAME_LENGTH);

export const MetricPointSchema = z.strictObject({
  name,
  step: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  value: z.number().describe("a finite number"),
  timestamp: epochMs,
});

/** `POST /api/run-values`: what runs logged since the last call, one entry per run. */
export const RunValuesInputSchema = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        flowRunId: apiId,
        taskRunId: apiId.nullable().describe("the task run that logged them; null: the flow run itself"),
        experiment: name,
        params: z.record(name, z.string().max(MAX_PARAM_JSON)).describe("parameter → its value as JSON text"),
        metrics: z.array(MetricPointSchema).max(10_000),
      }),
    )
    .min(1)
    .max(1_000),
});
export type RunValuesInput = z.output<typeof RunValuesInputSchema>;

export const ExperimentSummarySchema = z.object({ name: z.string(), runs: z.int(), lastRunAt: epochMs });
export type ExperimentSummary = z.output<typeof ExperimentSummarySchema>;
export const ExperimentListSchema = itemsOf(ExperimentSummarySchema);

export const MetricSummarySchema = z.object({
  last: z.number().describe("the value at the last step"),
  lastStep: z.int(),
  min: z.number(),
  max: z.number(),
  steps: z.int().describe("how many steps were logged"),
});

export const ExperimentRunSchema = z.object({
  runId: z.string().describe("the flow run's id, or the task run's when a task logged"),
  experiment: z.string(),
  flowRunId: z.string(),
  taskRunId: z.string().nullable(),
  name: z.string().describe("the flow run's name, or the task run's key"),
  flowName: z.string(),
  stateType: z.string(),
  stateName: z.string(),
  startTime: epochMs.nullable(),
  endTime: epochMs.nullable(),
  createdAt: epochMs,
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), MetricSummarySchema),
});
export type ExperimentRunRecord = z.output<typeof ExperimentRunSchema>;
export const ExperimentRunListSchema = itemsOf(ExperimentRunSchema);

export const ExperimentParamsSchema = z.object({ name });
export const ExperimentRunsQuerySchema = z.strictObject({ limit: z.int().min(1).max(1_000).default(200) });
export const CompareQuerySchema = z.strictObject({ runs: z.string().min(1).max(5_000).describe("run ids (flow or task runs), comma-separated, at most 50") });

export const MetricHistoryQuerySchema = z.strictObject({
  names: z.string().max(5_000).optional().describe("metric names, comma-separated (default: all)"),
  limit: z.int().min(1).max(100_000).default(10_000),
});
export const MetricHistorySchema = z.object({
  runId: z.string(),
  metrics: z.record(z.string(), z.array(z.object({ step: z.int(), value: z.number(), timestamp: epochMs }))),
});
export type MetricHistory = z.output<typeof MetricHistorySchema>;
