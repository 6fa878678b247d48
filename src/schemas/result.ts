/** Task results and the cache entries that point at them. */
import { z } from "zod";
import { epochMs } from "./fields.ts";

/**
 * A stored result. Its value is text in the encoding `serializer` names; Baton writes
 * `devalue/1`: devalue's `stringify` (https://github.com/Rich-Harris/devalue), which keeps Date,
 * Map, Set, BigInt, RegExp, URL, undefined, NaN, typed arrays and cycles, with two reducers of
 * Baton's — `Buffer` (base64 text) and `Error` ({ name, message, stack }); read it with devalue's
 * `parse` and the same revivers (core/serializer.ts).
 */
export const ResultSchema = z.object({
  id: z.string(),
  serializer: z
    .string()
    .describe("the encoding of `value`: `devalue/1` is devalue's stringify with Baton's Buffer (base64) and Error reducers; read it with devalue's parse and the same revivers")
    .meta({ examples: ["devalue/1"] }),
  value: z.string().nullable().describe("the serialised value of a small result, in the `serializer`'s encoding; null when it lives in a file"),
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

