/**
 * Where large results live, chosen by BATON_RESULTS_URL: a folder (`file:///path`, the default
 * on SQLite), Baton's database in chunks (`db`, the default on PostgreSQL) or an S3-compatible
 * object store (`s3://bucket/prefix`). Every kind holds blobs named by the sha256 of their bytes
 * (the same bytes are stored once), and a row points at one by the name `<sha256>.json`.
 */
import { UnknownResultStorageError } from "./errors.ts";

/** A result file's name: the sha256 of its bytes, in hex, then `.json`. */
export const CONTENT_NAME = /^[0-9a-f]{64}\.json$/;
/** A sha256 in hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A store of content-addressed blobs. */
export interface ResultBlobStore {
  /** Says where the blobs are, in errors and logs (never with credentials). */
  readonly description: string;
  /**
   * Stores `bytes` under `sha256` (its hash, checked by the caller) and returns once they are
   * durable. Bytes already stored are not written again, but their age is renewed, so a
   * collection that started before this write cannot take them (see `collect`).
   */
  put(sha256: string, bytes: Buffer): Promise<void>;
  /** The bytes stored under `sha256`; null when there are none. */
  get(sha256: string): Promise<Buffer | null>;
}

/** A blob store that can be garbage-collected (the database side: not the API client's). */
export interface CollectableBlobStore extends ResultBlobStore {
  /** Blobs stored or renewed before `before` (epoch ms), at most `limit`. */
  listOlderThan(before: number, limit: number): Promise<string[]>;
  /** Deletes those of `sha256s` still older than `before` (one renewed since is kept); returns how many went. */
  deleteOlderThan(sha256s: readonly string[], before: number): Promise<number>;
}

export type ResultStorageChoice =
  | { kind: "file"; dir: string }
  | { kind: "db" }
  | { kind: "s3"; bucket: string; prefix: string };

/**
 * BATON_RESULTS_URL compiled: unset, the default of the database (`file` with the results folder
 * on SQLite, `db` on PostgreSQL); otherwise one of the three forms, or UnknownResultStorageError
 * naming the value.
 */
export function parseResultsUrl(raw: string | null, defaults: { dialect: "sqlite" | "postgres" | "remote"; resultsDir: string }): ResultStorageChoice {
  if (raw === null || raw === "") return defaults.dialect === "postgres" ? { kind: "db" } : { kind: "file", dir: defaults.resultsDir };
  if (raw === "db") return { kind: "db" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnknownResultStorageError(raw);
  }
  if (url.protocol === "file:") {
    if (url.host !== "" || !url.pathname.startsWith("/") || url.pathname === "/") throw new UnknownResultStorageError(raw);
    return { kind: "file", dir: decodeURIComponent(url.pathname) };
  }
  if (url.protocol === "s3:") {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname) || url.search || url.hash || url.username || url.password) throw new UnknownResultStorageError(raw);
    const prefix = url.pathname.replace(/^\/+/, "").replace(/\/+$/, "");
    return { kind: "s3", bucket: url.hostname, prefix: prefix ? `${prefix}/` : "" };
  }
  throw new UnknownResultStorageError(raw);
}
