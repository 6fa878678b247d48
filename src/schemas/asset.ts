/** Assets, their versions and lineage (core/assets.ts, store/asset-store.ts). */
import { z } from "zod";
import { MAX_ASSET_KEY, MAX_VERSION } from "../core/assets.ts";
import { apiId, epochMs, itemsOf } from "./fields.ts";

const key = z.string().min(1).max(MAX_ASSET_KEY).describe("a URI: scheme://rest (dataset://features, file://data/raw.csv)");
const versionName = z.string().min(1).max(MAX_VERSION);

export const AssetVersionSchema = z.object({
  id: z.string().describe("the version's id (lineage and inputs use it)"),
  key: z.string(),
  version: z.string().describe("its name; by default its content hash"),
  hash: z.string().describe("content hash, sha256:<hex> unless the producer gave its own"),
  rows: z.int().nullable(),
  schema: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  flowRunId: z.string().nullable().describe("the run that first produced it; null: made outside a run, or its run was deleted"),
  taskRunId: z.string().nullable(),
  runDeleted: z.boolean(),
  createdAt: epochMs,
  materializedAt: epochMs.describe("its last materialisation: the latest version is the last materialised"),
});

/** `POST /api/asset-reads`: a run's declared reads, resolved and recorded. */
export const AssetReadsInputSchema = z.strictObject({
  flowRunId: apiId,
  taskRunId: apiId.nullable(),
  reads: z
    .array(z.strictObject({ key, version: versionName.nullable().describe("a version name or hash; null: the latest") }))
    .min(1)
    .max(1_000),
});
export type AssetReadsInput = z.output<typeof AssetReadsInputSchema>;
export const AssetReadsSchema = itemsOf(AssetVersionSchema.nullable().describe("null: the asset has no version yet"));

/** `POST /api/asset-materializations`: a run's materialisation (the hash is computed by the caller). */
export const MaterializationInputSchema = z.strictObject({
  key,
  version: versionName.nullable(),
  hash: versionName,
  rows: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  schema: z.string().max(100_000).nullable().describe("JSON text"),
  metadata: z.string().max(100_000).nullable().describe("JSON text of an object"),
  flowRunId: apiId.nullable().describe("the run that produced it; null: made outside a run (an admin's to record)"),
  taskRunId: apiId.nullable(),
  inputs: z.array(apiId).max(1_000).describe("ids of versions it was made from, besides what its task run read"),
});
export type MaterializationInput = z.output<typeof MaterializationInputSchema>;
export const MaterializeOutcomeSchema = z.object({ version: AssetVersionSchema, created: z.boolean().describe("false: the same content as an existing version, which it confirmed") });

export const AssetSummarySchema = z.object({ key: z.string(), versions: z.int(), createdAt: epochMs, latest: AssetVersionSchema });
export const AssetListSchema = itemsOf(AssetSummarySchema);

export const AssetParamsSchema = z.object({ key: z.string().min(1).max(MAX_ASSET_KEY).describe("the asset's key, URL-encoded") });
export const AssetQuerySchema = z.strictObject({ limit: z.int().min(1).max(1_000).default(100) });
export const AssetDetailSchema = z.object({ key: z.string(), total: z.int(), versions: z.array(AssetVersionSchema) });

export const LineageQuerySchema = z.strictObject({
  direction: z.enum(["upstream", "downstream"]).default("upstream"),
  depth: z.int().min(1).max(20).default(5),
  version: versionName.optional().describe("a version name or hash; default: the latest"),
});
const LineageRunSchema = z.object({
  flowRunId: z.string().nullable(),
  taskRunId: z.string().nullable(),
  name: z.string().nullable(),
  stateName: z.string().nullable(),
  deleted: z.boolean(),
});
export const LineageGraphSchema = z.object({
  root: z.string(),
  direction: z.enum(["upstream", "downstream"]),
  nodes: z.array(z.object({ id: z.string(), kind: z.enum(["version", "run"]), version: AssetVersionSchema.nullable(), run: LineageRunSchema.nullable() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), kind: z.enum(["read", "produced", "derived"]) })),
  truncated: z.boolean(),
});

const AssetUseSchema = z.object({ version: AssetVersionSchema, flowRunId: z.string(), taskRunId: z.string().nullable(), at: epochMs });
export const RunAssetsSchema = z.object({ flowRunId: z.string(), read: z.array(AssetUseSchema), written: z.array(AssetUseSchema) });
