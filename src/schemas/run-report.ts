/** A flow run's compliance report (services/run-report.ts): what ran, who started it, what it read and wrote, and its audit trail. */
import { z } from "zod";
import { AuditActorSchema, AuditEntrySchema } from "./audit.ts";
import { epochMs } from "./fields.ts";
import { StateNameSchema, StateTypeSchema } from "./state.ts";

const sha256 = z.string().describe("sha256, hex");

const HistoryStateSchema = z.object({
  timestamp: epochMs,
  type: StateTypeSchema,
  name: StateNameSchema,
  message: z.string().nullable(),
});

export const RunReportSchema = z
  .object({
    reportVersion: z.literal(1),
    run: z.object({
      id: z.string(),
      name: z.string(),
      flowName: z.string(),
      state: z.object({ type: StateTypeSchema, name: StateNameSchema }),
      tags: z.array(z.string()),
      createdAt: epochMs,
      startTime: epochMs.nullable(),
      endTime: epochMs.nullable(),
      durationMs: z.int().nullable(),
      runCount: z.int(),
      retriesUsed: z.int().describe("deployment retries used"),
      workPool: z.string().nullable(),
      workQueue: z.string().nullable(),
      workerId: z.string().nullable(),
    }),
    trigger: z.object({
      kind: z.enum(["schedule", "automation", "caller", "unknown"]).describe("caller: a person or program through the API (an account or key)"),
      actor: AuditActorSchema.nullable(),
      action: z.string().nullable(),
      at: epochMs.nullable(),
      detail: z.record(z.string(), z.unknown()).nullable().describe("the schedule's slot, or the automation's firing and triggering event"),
      message: z.string().nullable().describe("the first state's message"),
    }),
    deployment: z.object({ id: z.string(), name: z.string().nullable(), flowVersion: z.string().nullable(), entrypoint: z.string().nullable() }).nullable(),
    source: z
      .object({ entrypoint: z.string(), sourceSha256: sha256, lockFile: z.string().nullable(), lockSha256: sha256.nullable(), recordedAt: epochMs })
      .nullable()
      .describe("recorded by the process that ran it, before the flow's code loaded; null if it never started under a worker"),
    parameters: z.unknown(),
    parametersSha256: sha256.describe("of the parameters' canonical JSON"),
    tasks: z.array(
      z.object({
        id: z.string(),
        taskKey: z.string(),
        taskName: z.string(),
        state: z.object({ type: StateTypeSchema, name: StateNameSchema }),
        startTime: epochMs.nullable(),
        endTime: epochMs.nullable(),
        durationMs: z.int().nullable(),
        attempts: z.int(),
        retries: z.int().describe("attempts after the first"),
        cacheKey: z.string().nullable().describe("for a task cached on its inputs: the hash of its name, source and arguments"),
        inputs: z.array(z.object({ upstreamTaskRunId: z.string(), taskKey: z.string().nullable(), sha256: sha256.nullable() })).describe("the upstream results it was given, by content hash"),
        output: z.object({ resultId: z.string(), sha256: sha256.nullable(), size: z.int(), serializer: z.string() }).nullable(),
        error: z.string().nullable(),
      }),
    ),
    stateHistory: z.array(HistoryStateSchema),
    audit: z.object({
      entries: z.array(AuditEntrySchema),
      chain: z.object({
        ok: z.boolean(),
        throughSeq: z.int().nullable().describe("the chain was verified from its first row through this one (the run's last entry)"),
        broken: z.object({ seq: z.int(), reason: z.string() }).nullable(),
      }),
    }),
  })
  .meta({ id: "RunReport" });
export type RunReport = z.output<typeof RunReportSchema>;

export const RUN_REPORT_FORMATS = ["md", "json", "pdf"] as const;
export type RunReportFormat = (typeof RUN_REPORT_FORMATS)[number];

/** `GET /api/flow-runs/{id}/report`. */
export const RunReportQuerySchema = z.strictObject({ format: z.enum(RUN_REPORT_FORMATS).default("json") });
export type RunReportQuery = z.output<typeof RunReportQuerySchema>;
