/**
 * Automations: the spec as written (core/automation-spec.ts owns its strict shape and the
 * messages naming each field), the stored record, its firings and each action's attempts.
 */
import { z } from "zod";
import { AUTOMATION_SPEC_SHAPE } from "../core/automation-spec.ts";
import { METRICS, type Measurement } from "../core/automation-metrics.ts";
import type { MatchedEvent } from "../core/automation-triggers.ts";
import type { EventRecord } from "../core/event-records.ts";
import { EventRecordSchema } from "./event.ts";
import { epochMs, int32, itemsOf } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

/** A spec as stored and answered. */
export const AutomationSpecSchema = AUTOMATION_SPEC_SHAPE.meta({ id: "AutomationSpec" });
export type AutomationSpec = z.output<typeof AutomationSpecSchema>;

/**
 * A spec as a request body: the fields' types only. The spec's own checks (strict, each message
 * naming the field: `body.trigger.threshhold is not a field here…`) run in the use case, where
 * the CLI's YAML gets the same ones.
 */
export const AutomationSpecInputSchema = z
  .looseObject({
    name: z.string().optional(),
    description: z.string().optional(),
    trigger: z.record(z.string(), z.unknown()).optional(),
    actions: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .describe("An automation spec: { name, description?, trigger: { event, match?, posture?, threshold?, within?, for_each? } | { all|any: [triggers], within? }, actions: [{ type, ... }] }");
export type AutomationSpecInput = z.output<typeof AutomationSpecInputSchema>;

/** `PATCH /api/automations/{name}`: top-level fields of the spec, merged over the stored one. */
export const AutomationPatchSchema = z.record(z.string(), z.unknown());
export type AutomationPatch = z.output<typeof AutomationPatchSchema>;

export const AutomationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    spec: AutomationSpecSchema,
    paused: z.boolean(),
    activeSince: epochMs.describe("created, replaced or resumed at: its windows count events received since"),
    createdAt: epochMs,
    updatedAt: epochMs,
  })
  .meta({ id: "Automation" });
export type Automation = z.output<typeof AutomationSchema>;

export const ACTION_STATUSES = ["pending", "running", "succeeded", "failed"] as const;
/** pending: due at `nextAttemptAt`; running: an executor holds it until then; succeeded / failed: done. */
export const ActionStatusSchema = z.enum(ACTION_STATUSES);
export type ActionStatus = z.output<typeof ActionStatusSchema>;

/** One attempt of an action. */
export const ActionOutcomeSchema = z.object({
  attempt: int32,
  at: epochMs,
  ok: z.boolean(),
  error: z.string().optional(),
  result: z.unknown().describe("what it did: the run it started, the event it emitted, the webhook's status").optional(),
});
export type ActionOutcome = z.output<typeof ActionOutcomeSchema>;

export const AutomationActionRecordSchema = z
  .object({
    id: z.string(),
    firingId: z.string(),
    automationId: z.string(),
    index: int32.describe("its position in the spec's actions"),
    type: z.string(),
    status: ActionStatusSchema,
    attempts: int32,
    nextAttemptAt: epochMs,
    outcomes: z.array(ActionOutcomeSchema),
    updatedAt: epochMs,
  })
  .meta({ id: "AutomationActionRecord" });
export type AutomationActionRecord = z.output<typeof AutomationActionRecordSchema>;

/** What a firing records of each event that led to it. */
export const MatchedEventSchema = z.object({ id: z.string(), seq: z.int(), event: z.string(), occurred: epochMs });
export const MATCHED_EVENT_MATCHES_CORE: Equal<z.output<typeof MatchedEventSchema>, MatchedEvent> = true;

/** The event log's record, typed as core's: the store writes that type (the schema's looser resource only reads more). */
const firingEvent: z.ZodType<EventRecord> = EventRecordSchema;

/** What a metric trigger measured (core/automation-metrics.ts). */
export const MeasurementSchema = z.object({ metric: z.enum(METRICS), value: z.number().nullable(), runs: z.int(), windowStart: epochMs, windowEnd: epochMs });
export const MEASUREMENT_MATCHES_CORE: Equal<z.output<typeof MeasurementSchema>, Measurement> = true;

export const AutomationFiringSchema = z
  .object({
    id: z.string(),
    automationId: z.string(),
    bucket: z.string(),
    reason: z.string(),
    firedAt: epochMs,
    windowStart: epochMs,
    windowEnd: epochMs,
    events: z.array(MatchedEventSchema),
    event: firingEvent.nullable().describe("the event that completed the firing (templates read it); null for a proactive or metric firing"),
    measurement: MeasurementSchema.nullable().describe("what a metric trigger measured when it fired; null for event triggers"),
    actions: z.array(AutomationActionRecordSchema),
  })
  .meta({ id: "AutomationFiring" });
export type AutomationFiring = z.output<typeof AutomationFiringSchema>;

/** An automation with its last firing (lists). */
export const AutomationSummarySchema = AutomationSchema.extend({ lastFiring: AutomationFiringSchema.nullable() });
export type AutomationSummary = z.output<typeof AutomationSummarySchema>;
export const AutomationListSchema = itemsOf(AutomationSummarySchema);
export type AutomationList = z.output<typeof AutomationListSchema>;

/** An automation with its last firings, newest first (inspect). */
export const AutomationDetailSchema = AutomationSchema.extend({ firings: z.array(AutomationFiringSchema) });
export type AutomationDetail = z.output<typeof AutomationDetailSchema>;

export const AutomationFiringListSchema = itemsOf(AutomationFiringSchema);
export type AutomationFiringList = z.output<typeof AutomationFiringListSchema>;

/** `GET /api/automations/{name}/firings`. */
export const FiringsQuerySchema = z.strictObject({ limit: z.int().min(1).max(500).default(50) });
export type FiringsQuery = z.output<typeof FiringsQuerySchema>;
