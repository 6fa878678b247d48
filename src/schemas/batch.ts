/**
 * `POST /api/batch`: what a running flow (remote mode) reports in one request — task-run
 * transitions with their history rows, results, dependencies, cache entries, events and logs —
 * applied in one transaction. Each op is the record it writes, with the limits a client's write
 * must keep.
 */
import { z } from "zod";
import { ErrorInfoSchema } from "./error.ts";
import { NewEventSchema } from "./event.ts";
import { apiId, epochMs, int32 } from "./fields.ts";
import { LogInputSchema } from "./log.ts";
import { StateSchema } from "./state.ts";
import { TaskDependencySchema, TaskRunSchema } from "./task-run.ts";

const taskRunOp = z.strictObject({
  kind: z.literal("taskRun"),
  force: z.boolean().optional().describe("the transition was forced (skips the policy on the server)"),
  emitEvents: z.boolean().optional().describe("the task asked for an event at every transition, not only its failures"),
  taskRun: z.strictObject({
    ...TaskRunSchema.shape,
    id: apiId,
    flowRunId: apiId,
    taskKey: z.string().min(1).max(500),
    taskName: z.string().min(1).max(200),
    cacheKey: z.string().nullable().default(null),
    resultId: apiId.nullable().default(null),
    error: ErrorInfoSchema.nullable().default(null),
    startTime: epochMs.nullable().default(null),
    endTime: epochMs.nullable().default(null),
  }),
});

const stateOp = z.strictObject({
  kind: z.literal("state"),
  state: z.strictObject({ ...StateSchema.shape, flowRunId: apiId, taskRunId: apiId.nullable().default(null) }),
});

const resultOp = z.strictObject({
  kind: z.literal("result"),
  result: z.strictObject({
    id: apiId,
    serializer: z.string(),
    value: z.string().nullable().describe("the serialised result inline; null when it is a blob of the result storage (`path`)"),
    // Only a content address: the reader finds it in its result storage and checks that the
    // bytes hash to it, so a client's path cannot make anyone read another file (see
    // engine/result-store.ts).
    path: z
      .string()
      .regex(/^[0-9a-f]{64}\.json$/)
      .nullable()
      .default(null)
      .describe("null, or `<sha256>.json`: a blob stored first (PUT /api/result-blobs/{sha256} or the shared object store)"),
    size: int32,
    createdAt: epochMs,
  }),
});

const cacheOp = z.strictObject({
  kind: z.literal("cache"),
  entry: z.strictObject({ cacheKey: z.string().max(1000), resultId: apiId, taskRunId: apiId, expiresAt: epochMs.nullable().default(null), createdAt: epochMs }),
});

export const WriteOpSchema = z
  .discriminatedUnion("kind", [
    taskRunOp,
    stateOp,
    z.strictObject({ kind: z.literal("dependency"), dependency: TaskDependencySchema }),
    resultOp,
    cacheOp,
    // An event emitted by code of flow run `flowRunId` (emitEvent).
    z.strictObject({ kind: z.literal("event"), event: NewEventSchema, flowRunId: apiId }),
    z.strictObject({ kind: z.literal("log"), log: LogInputSchema }),
  ])
  // ajv picks the op's schema by its kind, so a bad op's error is about that kind only; an op
  // that is not an object with a kind is refused before (zod's JSON Schema of a union says neither).
  .meta({ type: "object", required: ["kind"], discriminator: { propertyName: "kind" } });

export const BatchSchema = z.strictObject({
  batchId: apiId.describe("idempotency key: a batch sent again under the same id is applied once").optional(),
  ops: z.array(WriteOpSchema).max(100_000),
});
export type Batch = z.output<typeof BatchSchema>;

export const BatchAnswerSchema = z.object({ applied: z.int(), duplicate: z.boolean() });
export type BatchAnswer = z.output<typeof BatchAnswerSchema>;
