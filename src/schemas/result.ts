/** Task results and the cache entries that point at them. */
import { z } from "zod";
import { epochMs } from "./fields.ts";

export const ResultSchema = z.object({
  id: z.string(),
  serializer: z.string(),
  value: z.string().nullable().describe("the serialised value of a small result; null when it lives in a file"),
  path: z.string().nullable().describe("where a large result lives under the result directory"),
  size: z.int(),
  createdAt: epochMs,
});
export type ResultRecord = z.output<typeof ResultSchema>;

export const CacheEntrySchema = z.object({
  cacheKey: z.string(),
  resultId: z.string(),
  taskRunId: z.string(),
  expiresAt: epochMs.nullable(),
  createdAt: epochMs,
});
export type CacheEntry = z.output<typeof CacheEntrySchema>;

/** `GET /api/cache/{key}`: the valid entry of a cache key. */
export const CacheParamsSchema = z.object({ key: z.string().min(1).max(1000) });
export type CacheParams = z.output<typeof CacheParamsSchema>;

