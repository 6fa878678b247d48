/** Log lines of runs: as stored and listed, and as a client sends them. */
import { z } from "zod";
import { apiId, epochMs, itemsOf, jsonObject, logLevel } from "./fields.ts";

export const LogSchema = z
  .object({
    id: z.int().optional(),
    flowRunId: z.string(),
    taskRunId: z.string().nullable(),
    level: logLevel.describe("pino levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal"),
    message: z.string(),
    timestamp: epochMs,
    extra: jsonObject.nullable().optional(),
  })
  .meta({ id: "Log" });
export type LogRecord = z.output<typeof LogSchema>;

export const LogListSchema = itemsOf(LogSchema);
export type LogList = z.output<typeof LogListSchema>;

/** A log line a client sends (alone, or in a batch). */
export const LogInputSchema = z.strictObject({
  flowRunId: apiId,
  taskRunId: apiId.nullable().default(null),
  level: logLevel,
  message: z.string().max(100_000),
  timestamp: epochMs,
  extra: jsonObject.nullable().optional(),
});

/** `POST /api/logs`. */
export const LogIngestSchema = z.strictObject({ logs: z.array(LogInputSchema).max(10_000) });
export type LogIngest = z.output<typeof LogIngestSchema>;
export const LogIngestAnswerSchema = z.object({ accepted: z.int() });
export type LogIngestAnswer = z.output<typeof LogIngestAnswerSchema>;

/** `GET /api/logs`: a flow run's logs, oldest first; page with afterId. */
export const LogQuerySchema = z.strictObject({
  flowRunId: apiId,
  taskRunId: apiId.optional(),
  minLevel: logLevel.optional(),
  afterId: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.int().min(1).max(5000).default(500),
});
export type LogQuery = z.output<typeof LogQuerySchema>;
