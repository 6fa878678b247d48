/**
 * Secrets: every answer is names and times, except `GET /api/secrets/{name}/value`, which an
 * admin key may call for any secret and a worker key only for a run whose job variables
 * reference the secret (secret-grants.ts). Values arrive in PUT bodies only, never in a URL;
 * events and audit lines name the secret and nothing more.
 */
import type { FastifyInstance } from "fastify";
import { BatonConfigError } from "../../core/errors.ts";
import { SecretDecryptionError } from "../../core/secret-cipher.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { NameParamsSchema, type NameParams } from "../../schemas/fields.ts";
import {
  SecretBodySchema,
  SecretInfoListSchema,
  SecretInfoSchema,
  SecretValueQuerySchema,
  SecretValueSchema,
  type SecretBody,
  type SecretInfo,
  type SecretInfoList,
  type SecretValue,
  type SecretValueQuery,
} from "../../schemas/secret.ts";
import { checkSecretValue, SecretNotFoundError, type SecretVault } from "../../services/secrets.ts";
import { checkValueName } from "../../services/variables.ts";
import { requireSecretGrant, type GrantLookup } from "../secret-grants.ts";
import type { WorkerRuns } from "../worker-runs.ts";

const nameParams = jsonSchema(NameParamsSchema);

/** A key or stored-value problem, answered without a crash and without the value. */
function keyProblem(error: unknown): never {
  if (error instanceof SecretDecryptionError) throw new ApiError(500, "SECRET_UNREADABLE", error.message, { secret: error.secretName, storedKey: error.storedFingerprint, serverKey: error.key.fingerprint });
  if (error instanceof BatonConfigError) throw new ApiError(500, "SECRET_KEY_INVALID", error.message);
  throw error;
}

export function secretRoutes(app: FastifyInstance, vault: SecretVault, grants: GrantLookup, workerRuns: WorkerRuns): void {
  app.get<{ Reply: SecretInfoList }>("/api/secrets", { schema: { tags: ["secrets"], summary: "List secrets: names and times, never values", response: { 200: jsonSchema(SecretInfoListSchema) } } }, async () => ({
    items: await vault.list(),
  }));

  app.put<{ Params: NameParams; Body: SecretBody; Reply: SecretInfo }>(
    "/api/secrets/:name",
    {
      schema: {
        tags: ["secrets"],
        summary: "Set a secret (sealed with AES-256-GCM before it is stored); answers its name and times only",
        params: nameParams,
        body: jsonSchema(SecretBodySchema),
        response: { 200: jsonSchema(SecretInfoSchema), 201: jsonSchema(SecretInfoSchema), ...errorResponses(400) },
      },
    },
    // 201 when it is new, 200 when it replaced one (as every create-or-update of the API).
    async (request, reply) => {
      try {
        checkValueName(request.params.name, "secret", "params.name");
        checkSecretValue(request.body.value, "body.value");
      } catch (error) {
        throw new ApiError(400, "VALIDATION_ERROR", (error as Error).message);
      }
      const existed = await vault.store.getSealedSecret(request.params.name);
      return reply.status(existed ? 200 : 201).send(await vault.set(request.params.name, request.body.value).catch(keyProblem));
    },
  );

  app.delete<{ Params: NameParams }>(
    "/api/secrets/:name",
    { schema: { tags: ["secrets"], summary: "Delete a secret", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await vault.delete(request.params.name))) throw notFound("secret", request.params.name);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: NameParams; Querystring: SecretValueQuery; Reply: SecretValue }>(
    "/api/secrets/:name/value",
    {
      schema: {
        tags: ["secrets"],
        summary: "Read a secret's value: admin keys any; worker keys only for a run (flowRunId) whose job variables reference it",
        params: nameParams,
        querystring: jsonSchema(SecretValueQuerySchema),
        response: { 200: jsonSchema(SecretValueSchema), ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (request.apiKeyRole === "worker") {
        const flowRunId = request.query.flowRunId;
        if (!flowRunId) throw new ApiError(403, "FORBIDDEN", `query.flowRunId is required with a worker key: it reads a secret for a run whose job variables reference it`);
        await workerRuns.require([{ field: "query.flowRunId", id: flowRunId }]);
        await requireSecretGrant(grants, name, flowRunId);
      }
      let value: string;
      try {
        value = await vault.reveal(name);
      } catch (error) {
        if (error instanceof SecretNotFoundError) throw notFound("secret", name);
        keyProblem(error);
      }
      // Never kept by a proxy or the browser.
      void reply.header("cache-control", "no-store");
      return { name, value };
    },
  );
}
