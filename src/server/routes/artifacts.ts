/**
 * Artifacts: published by runs (POST, with a worker key for a run the worker holds), changed in
 * place (PATCH: a progress, a table's rows), read by the dashboard — a run's, the latest of each
 * key across runs, a key's history — and an image's bytes. Each write is announced on the live
 * stream (a `resource` event naming the artifact and its run), so an open page updates at once.
 *
 * An image's bytes are served as what they are (their type is sniffed when they are stored,
 * never taken from the caller) with `Content-Security-Policy: sandbox` and `nosniff`: an SVG
 * opened on its own cannot run a script in the dashboard's origin; the dashboard shows images
 * with <img>, where an SVG's scripts never run.
 */
import type { FastifyInstance } from "fastify";
import { ArtifactTooLargeError, checkArtifactData, imageData, IMAGE_MAX_BYTES } from "../../core/artifacts.ts";
import type { ArtifactViews } from "../../store/artifact-store.ts";
import { classifyDatabaseError } from "../../store/db-errors.ts";
import type { Artifact, RunStore } from "../../store/types.ts";
import { runInBody } from "../access.ts";
import { ApiError, notFound } from "../errors.ts";
import type { EventHub } from "../events.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import {
  ArtifactHistoryQuerySchema,
  ArtifactHistorySchema,
  ArtifactInputSchema,
  ArtifactKeyParamsSchema,
  ArtifactPatchSchema,
  ArtifactQuerySchema,
  ArtifactSchema,
  ArtifactListingSchema,
  type ArtifactHistory,
  type ArtifactHistoryQuery,
  type ArtifactInput,
  type ArtifactPatch,
  type ArtifactQuery,
} from "../../schemas/artifact.ts";
import { checkTaskRun } from "./runs-data.ts";
import { newId } from "../../core/ids.ts";

const TAGS = ["artifacts"];
const idParams = jsonSchema(IdParamsSchema);

function decodeContent(a: ArtifactInput): Buffer | undefined {
  if (a.content === undefined) return undefined;
  if (a.type !== "image") throw new ApiError(400, "BAD_REQUEST", `body.content: only an image artifact has bytes; this one is a ${a.type}`);
  const bytes = Buffer.from(a.content, "base64");
  if (bytes.byteLength > IMAGE_MAX_BYTES) throw new ApiError(413, "PAYLOAD_TOO_LARGE", `body.content: ${new ArtifactTooLargeError(bytes.byteLength).message}`);
  return bytes;
}

export function artifactRoutes(app: FastifyInstance, store: RunStore, artifacts: ArtifactViews, hub: EventHub): void {
  const announce = (a: Pick<Artifact, "id" | "flowRunId">) => hub.publishResource({ kind: "resource", resource: "artifacts", name: a.id, flowRunId: a.flowRunId });

  app.post<{ Body: ArtifactInput; Reply: Artifact }>(
    "/api/artifacts",
    {
      config: { access: { workerRuns: runInBody("flowRunId") } },
      schema: {
        tags: TAGS,
        summary: "Publish an artifact of a run (markdown, table, link, progress, image); an image's PNG or SVG bytes as base64 `content`",
        body: jsonSchema(ArtifactInputSchema),
        response: { 201: jsonSchema(ArtifactSchema), ...errorResponses(400, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const a = request.body;
      const content = decodeContent(a);
      // An image's stored description comes from its bytes: type sniffed, size counted.
      const data = content ? imageData(content, (a.data as { mimeType?: string } | null)?.mimeType) : a.data;
      checkArtifactData(a.type, data);
      if (a.type === "image" && !content && (data as { url?: unknown }).url === undefined)
        throw new ApiError(400, "BAD_REQUEST", "body.content: an image artifact needs its PNG or SVG bytes (base64) in content, or data.url");
      if (!(await store.getFlowRun(a.flowRunId))) throw notFound("flow run", a.flowRunId);
      if (a.taskRunId) checkTaskRun(await store.getTaskRun(a.taskRunId), a.taskRunId, a.flowRunId, "body.taskRunId");
      const { content: _bytes, ...fields } = a;
      // The server's clock and, unless the caller names one, a new id.
      const artifact: Artifact = { ...fields, id: a.id ?? newId(), data, key: a.key ?? null, description: a.description ?? null, taskRunId: a.taskRunId ?? null, createdAt: Date.now(), updatedAt: null };
      try {
        await store.createArtifact(artifact, content);
      } catch (error) {
        if (classifyDatabaseError(error)?.kind === "duplicate") throw new ApiError(409, "CONFLICT", `artifact ${artifact.id} already exists; artifact ids are unique (use a new id, or the same key for a new version)`);
        throw error;
      }
      announce(artifact);
      return reply.status(201).send(artifact);
    },
  );

  app.patch<{ Params: IdParams; Body: ArtifactPatch; Reply: Artifact }>(
    "/api/artifacts/:id",
    {
      config: { access: { workerRuns: runInBody("flowRunId") } },
      schema: {
        tags: TAGS,
        summary: "Change an artifact in place (same id): a progress, a markdown text, a table's rows — replaced, or appended with `append: true`",
        params: idParams,
        body: jsonSchema(ArtifactPatchSchema),
        response: { 200: jsonSchema(ArtifactSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { flowRunId, data, append } = request.body;
      const updated = await store.updateArtifact(request.params.id, { flowRunId, data, append: append ?? false, at: Date.now() });
      if (!updated) throw new ApiError(404, "NOT_FOUND", `artifact ${request.params.id} of flow run ${flowRunId} was not found`);
      announce(updated);
      return updated;
    },
  );

  app.get<{ Querystring: ArtifactQuery }>(
    "/api/artifacts",
    {
      schema: {
        tags: TAGS,
        summary: "Artifacts of a run, or the versions of a key, newest first; with latest=true, the newest artifact of each key (or of `key`) across runs, with its run",
        querystring: jsonSchema(ArtifactQuerySchema),
        response: { 200: jsonSchema(ArtifactListingSchema), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { latest, key, limit, flowRunId } = request.query;
      if (latest) {
        if (flowRunId) throw new ApiError(400, "BAD_REQUEST", "querystring.flowRunId: latest=true lists across runs; leave out flowRunId, or latest");
        return { items: await artifacts.latestArtifacts({ key, limit }) };
      }
      return { items: await store.listArtifacts({ flowRunId, key, limit }) };
    },
  );

  app.get<{ Params: { key: string }; Querystring: ArtifactHistoryQuery; Reply: ArtifactHistory }>(
    "/api/artifacts/:key/history",
    {
      schema: {
        tags: TAGS,
        summary: "A key's artifacts across runs, newest first, with their runs; `nextCursor` pages on",
        params: jsonSchema(ArtifactKeyParamsSchema),
        querystring: jsonSchema(ArtifactHistoryQuerySchema),
        response: { 200: jsonSchema(ArtifactHistorySchema), ...errorResponses(400) },
      },
    },
    async (request) => artifacts.artifactHistory(request.params.key, request.query),
  );

  app.get<{ Params: IdParams }>(
    "/api/artifacts/:id/content",
    {
      schema: {
        tags: TAGS,
        summary: "An image artifact's bytes (PNG or SVG), by artifact id, sandboxed",
        params: idParams,
        response: {
          200: {
            description: "The image's bytes, as the type sniffed when they were stored (Content-Security-Policy: sandbox)",
            content: { "image/png": { schema: { type: "string", contentMediaType: "image/png" } }, "image/svg+xml": { schema: { type: "string", contentMediaType: "image/svg+xml" } } },
          },
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const content = await artifacts.artifactContent(request.params.id);
      if (!content) throw new ApiError(404, "NOT_FOUND", `artifact ${request.params.id} has no stored image (it is not an image, or an image by URL)`);
      return reply
        .header("content-type", content.mimeType)
        .header("content-security-policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'")
        .header("x-content-type-options", "nosniff")
        .header("content-disposition", "inline")
        .header("cache-control", "private, max-age=60")
        .send(content.bytes);
    },
  );
}
