/** Secrets: every answer is a name and its times, except the value read for a run. */
import { z } from "zod";
import { epochMs, itemsOf } from "./fields.ts";

/** What may be said of a secret to anyone: never its value. */
export const SecretInfoSchema = z
  .object({
    name: z.string(),
    createdAt: epochMs,
    updatedAt: epochMs,
  })
  .meta({ id: "SecretInfo" });
export type SecretInfo = z.output<typeof SecretInfoSchema>;
export const SecretInfoListSchema = itemsOf(SecretInfoSchema);
export type SecretInfoList = z.output<typeof SecretInfoListSchema>;

/** `PUT /api/secrets/{name}`: values arrive in bodies only, never in a URL. */
export const SecretBodySchema = z.strictObject({ value: z.string().min(1) });
export type SecretBody = z.output<typeof SecretBodySchema>;

/** `GET /api/secrets/{name}/value`. */
export const SecretValueQuerySchema = z.strictObject({ flowRunId: z.string().min(1).max(100).describe("the run that reads it: required with a worker key").optional() });
export type SecretValueQuery = z.output<typeof SecretValueQuerySchema>;
export const SecretValueSchema = z.object({ name: z.string(), value: z.string() });
export type SecretValue = z.output<typeof SecretValueSchema>;
