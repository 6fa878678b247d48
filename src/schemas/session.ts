/** Dashboard sign-in: an API key, or an account's name and password, exchanged for a session cookie. */
import { z } from "zod";
import { CredentialScopeSchema, PermissionSchema, RoleSchema } from "./credential.ts";

/** Either `apiKey`, or `username` and `password` (checked by the route, which names the missing field). */
export const SignInSchema = z.strictObject({
  apiKey: z.string().min(1).max(1000).optional(),
  username: z.string().min(1).max(200).optional(),
  password: z.string().min(1).max(1000).optional(),
});
export type SignIn = z.output<typeof SignInSchema>;

export const SessionSchema = z.object({
  role: RoleSchema,
  keysRequired: z.boolean().describe("false: the server requires no credential, everyone is an admin"),
  name: z.string().describe("who is signed in: the account's or key's name").optional(),
  permissions: z.array(PermissionSchema).describe("what the caller may do (the dashboard hides the rest)").optional(),
  scope: CredentialScopeSchema.nullable().describe("the pools and deployment tags a scoped key is limited to").optional(),
});
export type SessionInfo = z.output<typeof SessionSchema>;
