/**
 * `GET /api/stats/flows` and `GET /api/stats/flows/{name}`: each flow with its figures over a
 * window of hours, computed by the database (see store/flow-stats.ts), and what a flow's page
 * shows besides: durations over time, deployments, the parameters its deployments take.
 */
import { z } from "zod";
import { epochMs, jsonObject } from "./fields.ts";
import { FlowSchema } from "./flow.ts";

const count = z.int();

/** A flow run as these answers name it. */
export const FlowRunBriefSchema = z.object({
  id: z.string(),
  name: z.string(),
  stateType: z.string(),
  stateName: z.string(),
  createdAt: epochMs,
  startTime: epochMs.nullable(),
  endTime: epochMs.nullable(),
});
export type FlowRunBrief = z.output<typeof FlowRunBriefSchema>;

/** A flow's figures over the window. */
export const FlowFiguresSchema = z.object({
  runs: count.describe("runs created in the window"),
  finished: count.describe("of those, Completed, Failed or Crashed"),
  completed: count,
  successRate: z.number().nullable().describe("completed / finished, null when none finished"),
});
export type FlowFigures = z.output<typeof FlowFiguresSchema>;

export const FlowSummarySchema = FlowFiguresSchema.extend({
  flow: FlowSchema,
  lastRun: FlowRunBriefSchema.nullable().describe("its newest run, of any time"),
  deployments: z.array(z.string()).describe("the names of its deployments"),
});
export type FlowSummary = z.output<typeof FlowSummarySchema>;

export const FlowSummaryListSchema = z.object({
  since: epochMs.describe("the window's start"),
  items: z.array(FlowSummarySchema).describe("every flow (at most 1,000), by name"),
});
export type FlowSummaryList = z.output<typeof FlowSummaryListSchema>;

/** A deployment of the flow, as its page lists it. */
export const FlowDeploymentSchema = z.object({
  id: z.string(),
  name: z.string(),
  paused: z.boolean(),
  workPool: z.string().nullable(),
  workQueue: z.string(),
  scheduleText: z.array(z.string()),
});

/** The longest series of durations a flow's page draws. */
export const DURATION_POINTS = 200;

export const FlowDetailSchema = FlowSummarySchema.extend({
  since: epochMs,
  p50Ms: z.number().nullable().describe("median duration of the window's runs that started and ended"),
  p95Ms: z.number().nullable(),
  durations: z
    .array(z.object({ id: z.string(), name: z.string(), stateType: z.string(), startTime: epochMs, durationMs: z.number() }))
    .describe(`the ${DURATION_POINTS} newest runs that started and ended (of any time), oldest first`),
  deployments: z.array(FlowDeploymentSchema),
  parameterSchema: jsonObject.nullable().describe("the JSON Schema of the flow's parameters, from its most recently updated deployment that has one"),
  parameterSchemaFrom: z.string().nullable().describe("the deployment parameterSchema comes from"),
});
export type FlowDetail = z.output<typeof FlowDetailSchema>;

export const FlowStatsQuerySchema = z.strictObject({ hours: z.int().min(1).max(2160).default(168).describe("the window, in hours up to now (default a week)") });
export type FlowStatsQuery = z.output<typeof FlowStatsQuerySchema>;
