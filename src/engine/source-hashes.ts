/**
 * The content hashes of what a run executes (core/source-events.ts): its entrypoint file, and
 * the package-lock.json of its project — the nearest one in the file's folder or a parent, up
 * to the folder that holds the project's package.json.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { SourceHashes } from "../core/source-events.ts";

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** The lock file for `file`, or null: walks up until a package.json's folder (or the root). */
export function findLockFile(file: string): string | null {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    const lock = path.join(dir, "package-lock.json");
    if (fs.existsSync(lock)) return lock;
    if (fs.existsSync(path.join(dir, "package.json")) || path.dirname(dir) === dir) return null;
  }
}

export function sourceHashes(entrypoint: string, file: string): SourceHashes {
  const lock = findLockFile(file);
  return {
    entrypoint,
    sourceSha256: sha256(file),
    lockFile: lock ? path.relative(path.dirname(path.resolve(file)), lock).split(path.sep).join("/") : null,
    lockSha256: lock ? sha256(lock) : null,
  };
}
