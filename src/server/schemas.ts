/**
 * JSON schemas of the API: they validate requests and responses and generate the OpenAPI
 * document, so the documentation cannot drift from what the server accepts.
 */
import { STATE_NAMES, STATE_TYPES } from "../core/states.ts";
import { EVENT_NAME } from "../core/event-records.ts";

const nullable = (schema: object) => ({ anyOf: [schema, { type: "null" }] });
const str = { type: "string" } as const;
/**
 * Epoch milliseconds: an integer (PostgreSQL stores times as bigint, so 1.5 must be refused by
 * validation, not by the database), from 1970 to the last date JavaScript can represent.
 */
export const ms = { type: "integer", minimum: 0, maximum: 8_640_000_000_000_000, description: "epoch milliseconds" } as const;
/** A count stored in a 32-bit integer column. */
export const int32 = { type: "integer", minimum: 0, maximum: 2_147_483_647 } as const;
/** A log level (pino's: 10 trace … 60 fatal). */
export const logLevel = { type: "integer", minimum: 0, maximum: 100 } as const;
export const uuid = { type: "string", minLength: 1, maxLength: 64 } as const;

export const stateSchema = {
  $id: "State",
  type: "object",
  properties: {
    type: { type: "string", enum: STATE_TYPES },
    name: { type: "string", enum: STATE_NAMES },
    timestamp: ms,
    message: nullable(str),
    scheduledAt: nullable(ms),
  },
  required: ["type", "name", "timestamp"],
} as const;

export const errorInfoSchema = {
  $id: "ErrorInfo",
  type: "object",
  properties: { name: str, message: str, stack: str, cause: { type: "object", additionalProperties: true } },
  required: ["name", "message"],
} as const;

export const flowSchema = {
  $id: "Flow",
  type: "object",
  properties: { id: str, name: str, description: nullable(str), tags: { type: "array", items: str }, createdAt: ms, updatedAt: ms },
} as const;

export const flowRunSchema = {
  $id: "FlowRun",
  type: "object",
  properties: {
    id: str,
    flowId: str,
    flowName: str,
    name: str,
    parentFlowRunId: nullable(str),
    parentTaskRunId: nullable(str),
    state: { $ref: "State#" },
    parameters: {},
    tags: { type: "array", items: str },
    runCount: int32,
    createdAt: ms,
    startTime: nullable(ms),
    endTime: nullable(ms),
    heartbeatAt: nullable(ms),
    heartbeatMs: nullable(int32),
    resultId: nullable(str),
    error: nullable({ $ref: "ErrorInfo#" }),
    version: nullable(str),
    entrypoint: nullable(str),
    deploymentId: nullable(str),
    workPool: nullable(str),
    workQueue: nullable(str),
    workerId: nullable(str),
    expectedStartTime: nullable(ms),
    retriesUsed: int32,
  },
} as const;

export const taskRunSchema = {
  $id: "TaskRun",
  type: "object",
  properties: {
    id: str,
    flowRunId: str,
    taskKey: str,
    taskName: str,
    state: { $ref: "State#" },
    runCount: int32,
    cacheKey: nullable(str),
    resultId: nullable(str),
    error: nullable({ $ref: "ErrorInfo#" }),
    tags: { type: "array", items: str },
    createdAt: ms,
    startTime: nullable(ms),
    endTime: nullable(ms),
  },
} as const;

export const stateRecordSchema = {
  $id: "StateRecord",
  type: "object",
  properties: { ...stateSchema.properties, id: { type: "integer" }, flowRunId: str, taskRunId: nullable(str) },
} as const;

export const logSchema = {
  $id: "Log",
  type: "object",
  properties: {
    id: { type: "integer" },
    flowRunId: str,
    taskRunId: nullable(str),
    level: logLevel,
    message: str,
    timestamp: ms,
    extra: nullable({ type: "object", additionalProperties: true }),
  },
} as const;

export const dependencySchema = {
  $id: "TaskDependency",
  type: "object",
  properties: { taskRunId: str, upstreamTaskRunId: str, kind: { type: "string", enum: ["data", "wait"] } },
  required: ["taskRunId", "upstreamTaskRunId", "kind"],
  additionalProperties: false,
} as const;

export const errorResponseSchema = {
  $id: "ErrorResponse",
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: str, message: str, details: {} },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;

/** A proposed state: the type follows from the name. */
export const proposedStateSchema = {
  type: "object",
  properties: {
    name: { type: "string", enum: STATE_NAMES },
    message: nullable({ type: "string", maxLength: 10_000 }),
    scheduledAt: nullable(ms),
    timestamp: ms,
  },
  required: ["name"],
  additionalProperties: false,
} as const;

/** An event as a client emits it (see core/event-records.ts); the server assigns `seq` and `received`. */
export const newEventSchema = {
  $id: "NewEvent",
  type: "object",
  properties: {
    id: { type: "string", minLength: 1, maxLength: 64, description: "a UUIDv7: an event sent twice is stored once" },
    occurred: ms,
    event: { type: "string", minLength: 1, maxLength: 200, pattern: EVENT_NAME.source, description: "a dotted name, e.g. data.arrived" },
    resource: {
      type: "object",
      properties: {
        id: { type: "string", minLength: 1, maxLength: 500 },
        name: nullable({ type: "string", maxLength: 500 }),
        labels: { type: "object", additionalProperties: { type: "string", maxLength: 1000 }, maxProperties: 50 },
      },
      required: ["id"],
      additionalProperties: false,
    },
    related: {
      type: "array",
      maxItems: 100,
      items: {
        type: "object",
        properties: { role: { type: "string", minLength: 1, maxLength: 100 }, id: { type: "string", minLength: 1, maxLength: 500 }, name: nullable({ type: "string", maxLength: 500 }) },
        required: ["role", "id"],
        additionalProperties: false,
      },
    },
    payload: { type: "object" },
  },
  required: ["id", "occurred", "event", "resource", "related", "payload"],
  additionalProperties: false,
} as const;

/** An event as a caller outside a run sends it (POST /api/events): the server fills what is missing. */
export const eventInputSchema = {
  ...newEventSchema,
  $id: "EventInput",
  properties: {
    ...newEventSchema.properties,
    id: { ...newEventSchema.properties.id, description: "a UUIDv7 (default: a new one); send one to make a retried request harmless" },
    occurred: { ...ms, description: "when it happened, epoch ms (default: now)" },
    related: { ...newEventSchema.properties.related, description: "other resources it concerns (default: none)" },
    payload: { type: "object", description: "anything else (default: {})" },
  },
  required: ["event", "resource"],
} as const;

/** An event as stored: `seq` is its place in the log, `received` when the server stored it. */
export const eventRecordSchema = {
  $id: "EventRecord",
  type: "object",
  properties: {
    seq: { type: "integer" },
    id: str,
    occurred: ms,
    received: ms,
    event: str,
    resource: { type: "object", properties: { id: str, name: nullable(str), labels: { type: "object", additionalProperties: str } }, additionalProperties: true },
    related: { type: "array", items: { type: "object", properties: { role: str, id: str, name: nullable(str) }, additionalProperties: true } },
    payload: { type: "object", additionalProperties: true },
  },
} as const;

export const SHARED_SCHEMAS = [stateSchema, errorInfoSchema, flowSchema, flowRunSchema, taskRunSchema, stateRecordSchema, logSchema, dependencySchema, errorResponseSchema, newEventSchema, eventInputSchema, eventRecordSchema];

/** Standard error responses for a route. */
export function errorResponses(...codes: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries(codes.map((c) => [c, { $ref: "ErrorResponse#" }]));
}
