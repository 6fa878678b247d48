/** API keys and accounts, for admins (`access:admin`): create (a key's secret is answered once), list, revoke a key, delete an account. */
import type { FastifyInstance } from "fastify";
import {
  AccountInputSchema,
  AccountListSchema,
  AccountSchema,
  ApiKeyInputSchema,
  ApiKeyListSchema,
  ApiKeySchema,
  CreatedApiKeySchema,
  CredentialIdParamsSchema,
  type AccountInput,
  type ApiKeyInput,
  type CredentialIdParams,
} from "../../schemas/credential.ts";
import { NameParamsSchema, type NameParams } from "../../schemas/fields.ts";
import { createAccount, createApiKey, deleteAccount, revokeApiKey } from "../../services/credentials.ts";
import type { CredentialStore } from "../../store/credential-store.ts";
import type { Authenticator } from "../authenticator.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import type { Sessions } from "../sessions.ts";

const TAGS = ["access"];

export function credentialRoutes(app: FastifyInstance, store: CredentialStore, authenticator: Authenticator, sessions: Sessions): void {
  app.get(
    "/api/api-keys",
    { schema: { tags: TAGS, summary: "List API keys: names, prefixes, roles, scopes and times, never secrets", response: { 200: jsonSchema(ApiKeyListSchema) } } },
    async () => ({ items: await store.listApiKeys() }),
  );

  app.post<{ Body: ApiKeyInput }>(
    "/api/api-keys",
    {
      schema: {
        tags: TAGS,
        summary: "Create an API key; the answer holds its secret, shown this once (the server keeps only a hash)",
        body: jsonSchema(ApiKeyInputSchema),
        response: { 201: jsonSchema(CreatedApiKeySchema), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const created = await createApiKey(store, request.body, request.principal.name);
      // Never kept by a proxy or the browser.
      void reply.header("cache-control", "no-store");
      return reply.status(201).send(created);
    },
  );

  app.post<{ Params: CredentialIdParams }>(
    "/api/api-keys/:id/revoke",
    {
      schema: {
        tags: TAGS,
        summary: "Revoke an API key (by id, prefix or name): it stops working at once on this server, within a minute on others",
        params: jsonSchema(CredentialIdParamsSchema),
        response: { 200: jsonSchema(ApiKeySchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const key = await revokeApiKey(store, request.params.id);
      authenticator.forgetKey(key.id);
      sessions.closeAllOf("api-key", key.id);
      return key;
    },
  );

  app.get(
    "/api/accounts",
    { schema: { tags: TAGS, summary: "List accounts: names, roles and times, never passwords", response: { 200: jsonSchema(AccountListSchema) } } },
    async () => ({ items: await store.listAccounts() }),
  );

  app.post<{ Body: AccountInput }>(
    "/api/accounts",
    {
      schema: {
        tags: TAGS,
        summary: "Create an account that signs in to the dashboard with its name and password (stored as a scrypt hash)",
        body: jsonSchema(AccountInputSchema),
        response: { 201: jsonSchema(AccountSchema), ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await createAccount(store, request.body, request.principal.name)),
  );

  app.delete<{ Params: NameParams }>(
    "/api/accounts/:name",
    { schema: { tags: TAGS, summary: "Delete an account; its sessions end", params: jsonSchema(NameParamsSchema), response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      const account = await store.accountByName(request.params.name);
      await deleteAccount(store, request.params.name);
      if (account) sessions.closeAllOf("account", account.id);
      return reply.status(204).send();
    },
  );
}
