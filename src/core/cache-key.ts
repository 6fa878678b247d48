/**
 * Cache keys for `cacheKey: "inputs"`: a hash of the task's name, its source text and its
 * arguments, so that editing the task's code or calling it with other data misses the cache.
 */
import { createHash } from "node:crypto";
import { serialize } from "./serializer.ts";

export function hashText(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("hex");
}

export function inputsCacheKey(taskName: string, source: string, args: readonly unknown[]): string {
  return `inputs:${hashText(taskName, source, serialize(args, `arguments of task "${taskName}"`))}`;
}
