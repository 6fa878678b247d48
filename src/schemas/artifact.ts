/** Artifacts: what a run publishes for people (a markdown report, a table, a link, a progress, an image; core/artifacts.ts). */
import { z } from "zod";
import { ARTIFACT_TYPES, IMAGE_MAX_BYTES } from "../core/artifacts.ts";
import { apiId, epochMs, itemsOf, pageOf } from "./fields.ts";

export const ArtifactTypeSchema = z.enum(ARTIFACT_TYPES);

export const ArtifactSchema = z.object({
  id: z.string(),
  key: z.string().nullable().describe("optional stable name: the newest artifact of a key is its current version"),
  type: ArtifactTypeSchema,
  data: z.unknown().describe("markdown text, rows, { url, title }, a progress 0..100, { mimeType, size } or { url } of an image"),
  description: z.string().nullable(),
  flowRunId: z.string(),
  taskRunId: z.string().nullable(),
  createdAt: epochMs,
  updatedAt: epochMs.nullable().optional().describe("when its data last changed in place (update, append); null: never"),
});
export type Artifact = z.output<typeof ArtifactSchema>;

/** An artifact with the run it belongs to (the Artifacts page: across runs). */
export const ArtifactWithRunSchema = ArtifactSchema.extend({ flowRunName: z.string().nullable(), flowName: z.string().nullable() });
export type ArtifactWithRun = z.output<typeof ArtifactWithRunSchema>;

const artifactKey = z.string().min(1).max(200);
/** base64 of IMAGE_MAX_BYTES, with room for padding: a bigger image gets the size error, not a schema error. */
const CONTENT_MAX_CHARS = Math.ceil((IMAGE_MAX_BYTES * 4) / 3) + 1024;

/**
 * `POST /api/artifacts`; an image's PNG or SVG bytes travel as base64 `content`. The server sets
 * `createdAt` (its clock) and the id, unless the caller names one: the engine does, so that a
 * retried request or a later attempt of the run replaces its artifact instead of adding one.
 */
export const ArtifactInputSchema = z.strictObject({
  id: apiId.optional().describe("default: a new id; the same id of the same run replaces that artifact (a retried request, a later attempt)"),
  key: artifactKey.nullable().optional(),
  type: ArtifactTypeSchema,
  data: z.unknown(),
  description: z.string().max(10_000).nullable().optional(),
  flowRunId: apiId,
  taskRunId: apiId.nullable().optional(),
  content: z.string().max(CONTENT_MAX_CHARS).optional(),
});
export type ArtifactInput = z.output<typeof ArtifactInputSchema>;

/** `PATCH /api/artifacts/{id}`: new data, or rows appended to a table. */
export const ArtifactPatchSchema = z.strictObject({ flowRunId: apiId, data: z.unknown(), append: z.boolean().optional() });
export type ArtifactPatch = z.output<typeof ArtifactPatchSchema>;

/** `GET /api/artifacts`: a run's, or a key's versions, newest first; `latest`: the newest of each key across runs. */
export const ArtifactQuerySchema = z.strictObject({
  flowRunId: apiId.optional(),
  key: artifactKey.optional(),
  latest: z.boolean().optional(),
  limit: z.int().min(1).max(500).default(100),
});
export type ArtifactQuery = z.output<typeof ArtifactQuerySchema>;

export const ArtifactListSchema = itemsOf(ArtifactSchema);
export type ArtifactList = z.output<typeof ArtifactListSchema>;
/** `GET /api/artifacts`: a run's artifacts, or with `latest=true` each key's newest with its run. */
export const ArtifactListingSchema = itemsOf(ArtifactSchema.extend({ flowRunName: z.string().nullable().optional(), flowName: z.string().nullable().optional() }));
export const ArtifactHistorySchema = pageOf(ArtifactWithRunSchema);
export type ArtifactHistory = z.output<typeof ArtifactHistorySchema>;

export const ArtifactKeyParamsSchema = z.object({ key: artifactKey });
export const ArtifactHistoryQuerySchema = z.strictObject({ cursor: z.string().max(300).optional(), limit: z.int().min(1).max(500).default(50) });
export type ArtifactHistoryQuery = z.output<typeof ArtifactHistoryQuerySchema>;
