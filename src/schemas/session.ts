/** Dashboard sign-in: an API key exchanged for a session cookie carrying its role. */
import { z } from "zod";

export const SignInSchema = z.strictObject({ apiKey: z.string().min(1).max(1000) });
export type SignIn = z.output<typeof SignInSchema>;

export const SessionSchema = z.object({
  role: z.enum(["admin", "worker"]),
  keysRequired: z.boolean().describe("false: the server has no API keys, everyone is an admin"),
});
export type SessionInfo = z.output<typeof SessionSchema>;
