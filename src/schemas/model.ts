/** The model registry over the API: versions, aliases, alias moves (core/models.ts). */
import { z } from "zod";
import { ALIAS_NAME, MODEL_NAME } from "../core/models.ts";
import { apiId, epochMs, itemsOf } from "./fields.ts";
import { AssetVersionSchema, LineageGraphSchema } from "./asset.ts";

export const modelName = z.string().regex(MODEL_NAME).describe("1 to 128 letters, digits, '.', '_' or '-'");
export const aliasName = z.string().regex(ALIAS_NAME).describe("1 to 64 lowercase letters, digits, '_' or '-', starting with a letter");
const version = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
const metrics = z.record(z.string().min(1).max(200), z.number()).describe("metric → a finite number");

export const ModelParamsSchema = z.object({ name: modelName });
export const ModelAliasParamsSchema = z.object({ name: modelName, alias: aliasName });
/** Where an alias points: one indexed read, what a serving process polls. */
export const ModelAliasSchema = z.object({ name: z.string(), alias: z.string(), version: z.int() });
export const ModelVersionParamsSchema = z.object({ name: modelName, version });
export type ModelVersionParams = z.output<typeof ModelVersionParamsSchema>;

const actor = z.object({ kind: z.string(), id: z.string().nullable(), name: z.string().nullable() });

export const ModelVersionSchema = z.object({
  name: z.string(),
  version: z.int(),
  source: z.enum(["value", "path"]).describe("path: a file's bytes, loaded as a Buffer"),
  sourcePath: z.string().nullable(),
  size: z.int().describe("bytes stored (serialised)"),
  sha256: z.string(),
  metrics: z.record(z.string(), z.number()),
  params: z.record(z.string(), z.unknown()),
  signature: z.unknown(),
  description: z.string().nullable(),
  flowRunId: z.string().nullable().describe("the flow run that registered it"),
  taskRunId: z.string().nullable(),
  experiment: z.string().nullable(),
  createdAt: epochMs,
  aliases: z.array(z.string()).describe("the aliases pointing at it"),
});

export const ModelAliasMoveSchema = z.object({
  id: z.string(),
  alias: z.string(),
  kind: z.enum(["promoted", "rolled-back", "refused"]),
  from: z.int().nullable(),
  to: z.int().nullable().describe("for a refusal: the candidate"),
  reason: z.string().nullable(),
  undone: z.boolean().describe("a promotion a later rollback undid"),
  actor,
  flowRunId: z.string().nullable(),
  at: epochMs,
});

export const ModelSummarySchema = z.object({
  name: z.string(),
  latestVersion: z.int(),
  createdAt: epochMs,
  updatedAt: epochMs,
  aliases: z.record(z.string(), z.int()).describe("alias → version"),
});
export const ModelListSchema = itemsOf(ModelSummarySchema);
export const ModelDetailSchema = ModelSummarySchema.extend({
  versions: z.array(ModelVersionSchema).describe("newest first"),
  moves: z.array(ModelAliasMoveSchema).describe("alias moves and refused promotions, newest first"),
});

/** A version's stored value in the serialiser's text (Buffers included), for `loadModel` in remote mode. */
export const ModelValueSchema = z.object({ serializer: z.string(), value: z.string(), sha256: z.string() });

/** `POST /api/models/{name}/versions`: a version registered by a run or a script (its value inline, serialised). */
export const ModelVersionInputSchema = z.strictObject({
  source: z.enum(["value", "path"]).default("value"),
  sourcePath: z.string().max(4096).nullable().default(null),
  serializer: z.literal("devalue/1"),
  value: z.string().describe("the value in Baton's serialiser (devalue/1)"),
  metrics: metrics.default({}),
  params: z.record(z.string().min(1).max(200), z.unknown()).default({}),
  signature: z.unknown().optional(),
  description: z.string().max(10_000).nullable().default(null),
  flowRunId: apiId.nullable().default(null),
  taskRunId: apiId.nullable().default(null),
  experiment: z.string().min(1).max(200).nullable().default(null),
});
export type ModelVersionInput = z.output<typeof ModelVersionInputSchema>;

export const MetricGateSchema = z.strictObject({
  metric: z.string().min(1).max(200),
  min: z.number().optional(),
  max: z.number().optional(),
  betterThanCurrent: z.boolean().optional(),
  higherIsBetter: z.boolean().optional(),
});

/** `POST /api/models/{name}/promote`: a person's promotion, through declared thresholds or forced. */
export const PromoteInputSchema = z.strictObject({
  version,
  to: aliasName.default("production"),
  gate: z.array(MetricGateSchema).max(50).optional().describe("declared thresholds, all of which must pass"),
  force: z.boolean().default(false).describe("promote without a gate"),
});
export type PromoteInput = z.output<typeof PromoteInputSchema>;

export const PromotionOutcomeSchema = z.object({
  promoted: z.boolean(),
  from: z.int().nullable().optional(),
  to: z.int().optional(),
  reason: z.string().optional().describe("why it was refused"),
});

export const RollbackInputSchema = z.strictObject({ alias: aliasName.default("production") });
export const RollbackOutcomeSchema = z.object({ from: z.int(), to: z.int() });

/**
 * `POST /api/models/{name}/moves`: an alias move a run (or a script) decided itself — its gate
 * is code that ran where it runs: a promotion, a refusal with its reason, or a rollback.
 */
export const ModelMoveInputSchema = z.strictObject({
  kind: z.enum(["promoted", "refused", "rolled-back"]),
  alias: aliasName,
  version: version.optional().describe("promoted, refused: the candidate"),
  reason: z.string().max(10_000).nullable().default(null),
  flowRunId: apiId.nullable().default(null),
});
export type ModelMoveInput = z.output<typeof ModelMoveInputSchema>;
export const ModelMoveOutcomeSchema = z.object({ from: z.int().nullable(), to: z.int().nullable() });

export const ModelLineageQuerySchema = z.strictObject({ depth: z.int().min(1).max(20).default(10).describe("how many levels of versions upstream") });

/** Where a model version came from: its training run, the data set versions upstream of it, and the raw sources among them. */
export const ModelLineageSchema = z.object({
  name: z.string(),
  version: z.int(),
  /** The asset the version is a version of (`model://NAME`, version `vN`): its lineage is the asset graph's. */
  asset: z.object({ key: z.string(), version: z.string() }),
  trainingRun: z
    .object({ flowRunId: z.string(), taskRunId: z.string().nullable(), name: z.string().nullable(), flowName: z.string().nullable(), stateName: z.string().nullable(), deleted: z.boolean() })
    .nullable(),
  /** Every asset version upstream of the model, nearest first. */
  datasets: z.array(AssetVersionSchema),
  /** Those with nothing upstream of them: the raw data. */
  sources: z.array(AssetVersionSchema),
  graph: LineageGraphSchema,
});
export type ModelLineage = z.output<typeof ModelLineageSchema>;
