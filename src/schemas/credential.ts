/**
 * API keys and accounts (issue 11): what an admin creates, lists and revokes. A key's secret is
 * shown once, in the answer that creates it; no other answer carries it or its hash, nor an
 * account's password.
 */
import { z } from "zod";
import { ALL_PERMISSIONS, ROLE_NAMES, type Permission, type Role } from "../core/permissions.ts";
import { epochMs, itemsOf, resourceName } from "./fields.ts";

export const RoleSchema = z.enum(ROLE_NAMES as [Role, ...Role[]]).describe("admin, developer, operator, viewer or worker");

export const PermissionSchema = z.enum(ALL_PERMISSIONS as [Permission, ...Permission[]]).describe("a permission (GET /api/session lists a caller's)");

/** Permissions held on top of the role (e.g. results:read for a viewer). */
const grants = z.array(PermissionSchema).max(ALL_PERMISSIONS.length).describe("permissions granted on top of the role, e.g. results:read for a viewer");

/** What a scoped key sees: only these pools and/or deployments with one of these tags (null: no limit of that kind). */
export const CredentialScopeSchema = z.object({
  pools: z.array(z.string()).nullable().describe("work pools the key sees and touches (null: every pool)"),
  deploymentTags: z.array(z.string()).nullable().describe("the key sees deployments, and their runs, with one of these tags (null: every deployment)"),
});
export type CredentialScope = z.output<typeof CredentialScopeSchema>;

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    /** The key's public part (`baton_<prefix>_…`): enough to recognise it in a list, useless without the rest. */
    prefix: z.string(),
    role: RoleSchema,
    grants,
    scope: CredentialScopeSchema,
    createdAt: epochMs,
    createdBy: z.string().nullable().describe("who created it (an account or key name; null: the command line on the database)"),
    expiresAt: epochMs.nullable(),
    revokedAt: epochMs.nullable(),
    lastUsedAt: epochMs.nullable().describe("recorded at most once a minute"),
  })
  .meta({ id: "ApiKey" });
export type ApiKeyRecord = z.output<typeof ApiKeySchema>;
export const ApiKeyListSchema = itemsOf(ApiKeySchema);

const scopeNames = z.array(resourceName).min(1).max(100);

/** `POST /api/api-keys`. */
export const ApiKeyInputSchema = z.strictObject({
  name: z.string().min(1).max(200),
  role: RoleSchema,
  expiresInDays: z.number().positive().max(36_500).describe("default: never expires").optional(),
  pools: scopeNames.describe("scope the key to these work pools").optional(),
  deploymentTags: scopeNames.describe("scope the key to deployments with one of these tags").optional(),
  grants: grants.optional(),
});
export type ApiKeyInput = z.output<typeof ApiKeyInputSchema>;

/** The answer that creates a key: the only one with its secret. */
export const CreatedApiKeySchema = z.object({ key: z.string().describe("the secret: shown this once, stored only as a hash"), apiKey: ApiKeySchema });
export type CreatedApiKey = z.output<typeof CreatedApiKeySchema>;

export const AccountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: RoleSchema,
    grants,
    createdAt: epochMs,
    createdBy: z.string().nullable(),
    lastSignInAt: epochMs.nullable(),
  })
  .meta({ id: "Account" });
export type AccountRecord = z.output<typeof AccountSchema>;
export const AccountListSchema = itemsOf(AccountSchema);

/** A user name: letters, digits and . _ @ - (an e-mail address fits). */
export const accountName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.@+-]+$/, "must be letters, digits and . _ @ + -");

/** Passwords of at least 12 characters: length is what makes them hard to guess. */
export const password = z.string().min(12, "must be at least 12 characters long").max(1000);

/** `POST /api/accounts`. */
export const AccountInputSchema = z.strictObject({ name: accountName, role: RoleSchema, password, grants: grants.optional() });
export type AccountInput = z.output<typeof AccountInputSchema>;

export const CredentialIdParamsSchema = z.object({ id: z.string().min(1).max(200).describe("the key's id, prefix or name") });
export type CredentialIdParams = z.output<typeof CredentialIdParamsSchema>;
