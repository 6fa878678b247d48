/** Artifacts: what a run publishes for people (a markdown report, a table, a link). */
import { z } from "zod";
import { apiId, epochMs, itemsOf } from "./fields.ts";

export const ArtifactTypeSchema = z.enum(["markdown", "table", "link"]);

export const ArtifactSchema = z.object({
  id: z.string(),
  key: z.string().nullable().describe("optional stable name: the newest artifact of a key is its current version"),
  type: ArtifactTypeSchema,
  data: z.unknown().describe("markdown text, a table as an array of row objects, or { url, title }"),
  description: z.string().nullable(),
  flowRunId: z.string(),
  taskRunId: z.string().nullable(),
  createdAt: epochMs,
});
export type Artifact = z.output<typeof ArtifactSchema>;

/** `POST /api/artifacts`. */
export const ArtifactInputSchema = z.strictObject({
  id: apiId,
  key: z.string().max(200).nullable().default(null),
  type: ArtifactTypeSchema,
  data: z.unknown(),
  description: z.string().max(10_000).nullable().default(null),
  flowRunId: apiId,
  taskRunId: apiId.nullable().default(null),
  createdAt: epochMs,
});
export type ArtifactInput = z.output<typeof ArtifactInputSchema>;

/** `GET /api/artifacts`: the artifacts of a run, or the versions of a key, newest first. */
export const ArtifactQuerySchema = z.strictObject({ flowRunId: apiId.optional(), key: z.string().max(200).optional(), limit: z.int().min(1).max(500).default(100) });
export type ArtifactQuery = z.output<typeof ArtifactQuerySchema>;

export const ArtifactListSchema = itemsOf(ArtifactSchema);
export type ArtifactList = z.output<typeof ArtifactListSchema>;
