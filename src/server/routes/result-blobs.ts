/**
 * Result blobs through the API, for clients of a server whose large results are in its database
 * (BATON_RESULTS_URL=db): raw bytes named by their sha256, checked on the way in, stored where
 * the server's result storage says (config/result-storage.ts).
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ResultBlobStore } from "../../core/result-storage.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";

const BlobParamsSchema = z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/).describe("the sha256 of the blob's bytes, 64 lower-case hex digits") });
type BlobParams = z.output<typeof BlobParamsSchema>;
const params = jsonSchema(BlobParamsSchema);
const binary = { type: "string", format: "binary" } as const;

export function resultBlobRoutes(app: FastifyInstance, blobs: ResultBlobStore | null): void {
  // Raw bytes, limited by the server's body limit like any body; only for these routes' scope.
  app.register(async (scope) => {
    scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    const storage = (): ResultBlobStore => {
      if (!blobs) throw new ApiError(409, "NO_RESULT_STORAGE", "this server has no result storage: start it with BATON_RESULTS_URL (db, s3://bucket/prefix or file:///path)");
      return blobs;
    };

    scope.get<{ Params: BlobParams }>(
      "/api/result-blobs/:sha256",
      {
        schema: {
          tags: ["results"],
          summary: "The bytes of a large result (a serialised result whose row names `<sha256>.json` as its path)",
          params,
          response: { 200: { description: "the blob's bytes", content: { "application/octet-stream": { schema: binary } } }, ...errorResponses(404, 409) },
        },
      },
      async (request, reply) => {
        const bytes = await storage().get(request.params.sha256);
        if (!bytes) throw new ApiError(404, "NOT_FOUND", `result blob ${request.params.sha256} was not found in ${storage().description}`);
        return reply.type("application/octet-stream").send(bytes);
      },
    );

    scope.put<{ Params: BlobParams; Body: Buffer }>(
      "/api/result-blobs/:sha256",
      {
        schema: {
          tags: ["results"],
          summary: "Store a large result's bytes under their sha256 (before writing the result row that names them); the same bytes are stored once",
          params,
          consumes: ["application/octet-stream"],
          body: binary,
          response: { 204: { description: "stored", type: "null" }, ...errorResponses(400, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const body = request.body;
        if (!Buffer.isBuffer(body)) throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "body: send the blob's bytes as application/octet-stream");
        const sha = createHash("sha256").update(body).digest("hex");
        if (sha !== request.params.sha256) throw new ApiError(400, "VALIDATION_ERROR", `params.sha256: the body's sha256 is ${sha}, not ${request.params.sha256}`, { field: "params.sha256" });
        await storage().put(sha, body);
        return reply.status(204).send();
      },
    );
  });
}
