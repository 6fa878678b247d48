/**
 * What the live feed (`GET /api/live/stream`, the dashboard's) sends: state changes and log lines
 * as they are stored (core/events.ts), and changes of deployments, work pools, workers and
 * limits, variables and secrets made through the API.
 */
import { z } from "zod";
import type { BatonEvent } from "../core/events.ts";
import { apiId } from "./fields.ts";
import { LogSchema } from "./log.ts";
import { StateRecordSchema } from "./state.ts";
import type { Equal } from "./type-equality.ts";

export const StateEventSchema = StateRecordSchema.extend({ kind: z.literal("state") });
export const LogEventSchema = LogSchema.extend({ kind: z.literal("log") });
/** A live event of a run, as `followEvents` delivers it. */
export const RunEventSchema = z.discriminatedUnion("kind", [StateEventSchema, LogEventSchema]);
export const RUN_EVENT_MATCHES_CORE: Equal<z.output<typeof RunEventSchema>, BatonEvent> = true;

/**
 * A deployment (or its schedules), work pool, queue, worker, concurrency limit, variable or
 * secret changed through the API; `name` is the one named in the request's path, when there is one.
 */
export const ResourceEventSchema = z.object({
  kind: z.literal("resource"),
  resource: z.enum(["deployments", "work-pools", "workers", "concurrency-limits", "variables", "secrets", "artifacts"]),
  name: z.string().nullable(),
  /** An artifact's run. */
  flowRunId: z.string().optional(),
});
export type ResourceEvent = z.output<typeof ResourceEventSchema>;

/** What the live feed sends: stored rows (a log line with its id) and resource changes. */
export const LiveEventSchema = z.discriminatedUnion("kind", [StateEventSchema, LogEventSchema.extend({ id: z.int() }), ResourceEventSchema]);
export type LiveEvent = z.output<typeof LiveEventSchema>;

/** `GET /api/live/stream`: every run's events, or one flow run's. */
export const LiveStreamQuerySchema = z.strictObject({ flowRunId: apiId.optional() });
export type LiveStreamQuery = z.output<typeof LiveStreamQuerySchema>;
