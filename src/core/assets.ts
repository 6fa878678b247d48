/**
 * Assets: data a run reads or writes, named by a URI key (`file://data/raw.csv`,
 * `dataset://features`, `model://weather`). Each materialisation of an asset is recorded with a
 * content hash; a new version exists only when the content changed (see store/asset-writes.ts).
 * Pure: the key and option rules the SDK (at definition and call time) and the API share, and
 * the records that travel to the store.
 *
 * Content hash (`sha256:<hex>`): of the value's serialised bytes when `value` is given, the
 * user's own `hash` when given, else of `metadata`, `rows` and `schema` in canonical JSON.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./audit-chain.ts";
import { BatonError } from "./errors.ts";
import { serialize } from "./serializer.ts";

export const MAX_ASSET_KEY = 500;
export const MAX_VERSION = 200;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `key` is not an asset key (a URI `scheme://rest`), or null. */
export function assetKeyProblem(key: unknown): string | null {
  if (typeof key !== "string") return `must be a string URI (scheme://rest), got ${key === null ? "null" : typeof key}`;
  if (key.length > MAX_ASSET_KEY) return `is ${key.length} characters; at most ${MAX_ASSET_KEY}`;
  if (CONTROL.test(key)) return "contains control characters";
  const at = key.indexOf("://");
  if (at < 0) return "is not a URI: it needs a scheme and ://, e.g. dataset://features or file://data/raw.csv";
  if (!SCHEME.test(key.slice(0, at))) return `has the scheme "${key.slice(0, at)}"; a scheme starts with a letter, then letters, digits, +, . or -`;
  if (key.slice(at + 3).trim() === "") return "has nothing after its scheme://";
  return null;
}

/** Throws a TypeError naming where the key was given, the key and the problem. */
export function checkAssetKey(key: unknown, where: string): string {
  const problem = assetKeyProblem(key);
  if (problem) throw new TypeError(`${where}: asset key ${JSON.stringify(key)?.slice(0, 120) ?? String(key)} ${problem}`);
  return key as string;
}

/** Why `version` is not a version name, or null. */
export function versionProblem(version: unknown): string | null {
  if (typeof version !== "string" || version === "" || version.length > MAX_VERSION || CONTROL.test(version))
    return `must be a non-empty string of at most ${MAX_VERSION} characters without control characters, got ${JSON.stringify(version)?.slice(0, 80) ?? String(version)}`;
  return null;
}

const BRAND = Symbol.for("baton.asset");

/** An asset, optionally pinned to one version (in a task's `reads`). */
export class Asset {
  readonly [BRAND] = true;
  constructor(
    readonly key: string,
    /** The version (or content hash) a read asks for; null: the latest. */
    readonly pinned: string | null = null,
  ) {}

  /** The same asset pinned to a version (its name, or its `sha256:` hash): a read then uses exactly that one. */
  version(version: string): Asset {
    const problem = versionProblem(version);
    if (problem) throw new TypeError(`asset("${this.key}").version(version): version ${problem}`);
    return new Asset(this.key, version);
  }

  toString(): string {
    return this.pinned ? `${this.key}@${this.pinned}` : this.key;
  }
}

/** Whether `value` is an asset (of any copy of Baton loaded in the process). */
export function isAsset(value: unknown): value is Asset {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * An asset by its URI key; throws a TypeError when the key is not a URI.
 *
 * @example
 * const features = asset("dataset://features");
 * const pinned = features.version("sha256:9f86d08…");
 */
export function asset(key: string): Asset {
  return new Asset(checkAssetKey(key, "asset(key)"));
}

/** A task's `reads` or `writes` option: assets (or key strings), checked at definition time. */
export function assetList(value: unknown, field: "reads" | "writes"): Asset[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`task option "${field}" must be an array of assets (asset("dataset://name")), got ${typeof value}`);
  const out = value.map((item: unknown, i) => {
    if (isAsset(item)) return new Asset(checkAssetKey(item.key, `task option "${field}" item ${i}`), item.pinned);
    return new Asset(checkAssetKey(item, `task option "${field}" item ${i}`));
  });
  if (field === "writes") {
    const pinned = out.find((a) => a.pinned);
    if (pinned) throw new TypeError(`task option "writes": ${pinned.key} is pinned to version ${pinned.pinned}; a version is chosen when it is written (materialize(asset, { version }))`);
  }
  const keys = out.map((a) => a.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new TypeError(`task option "${field}" names ${twice} twice`);
  return out;
}

/** What `materialize(asset, options)` takes. */
export interface MaterializeOptions {
  /** The version's name; default: its content hash. */
  version?: string;
  /** Your own content hash (`sha256:…` or any string); default: computed. */
  hash?: string;
  /** How many rows the version has. */
  rows?: number;
  /** Its schema (any JSON value). */
  schema?: unknown;
  /** Anything else to record with it (a JSON object). */
  metadata?: Record<string, unknown>;
  /** The data itself: hashed (its serialised bytes), never stored. */
  value?: unknown;
}

/** A materialisation on its way to the store. */
export interface AssetMaterialization {
  key: string;
  /** The version's name; null: its hash. */
  version: string | null;
  hash: string;
  rows: number | null;
  /** JSON text, or null. */
  schema: string | null;
  /** JSON text of an object, or null. */
  metadata: string | null;
  flowRunId: string | null;
  taskRunId: string | null;
  /** Ids of the asset versions it was made from, besides what its task run read (the store adds those). */
  inputs: string[];
}

/** An asset version as stored. */
export interface AssetVersion {
  /** A UUIDv7, the version's identity across assets (lineage edges use it). */
  id: string;
  key: string;
  version: string;
  hash: string;
  rows: number | null;
  schema: unknown;
  metadata: Record<string, unknown> | null;
  /** The run that first produced it; null: made outside a run, or the run was deleted. */
  flowRunId: string | null;
  taskRunId: string | null;
  /** Its producing run was deleted (lineage shows "run deleted"). */
  runDeleted: boolean;
  createdAt: number;
  /** Its last materialisation (a run producing the same content again confirms it). */
  materializedAt: number;
}

/** What a materialisation did: made a new version, or confirmed an existing one. */
export interface MaterializeOutcome {
  version: AssetVersion;
  created: boolean;
}

/** A task run's declared reads, to resolve (latest, or the pinned version) and record. */
export interface AssetReadRequest {
  flowRunId: string;
  taskRunId: string | null;
  reads: { key: string; version: string | null }[];
}

export const contentHash = (bytes: string | Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

function jsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = canonicalJson(value);
  } catch (error) {
    throw new TypeError(`${field} is not JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`${field} is not JSON (got ${typeof value})`);
  return text;
}

/** Checks `materialize`'s options and computes the content hash; TypeErrors name the option. */
export function compileMaterialization(key: string, options: MaterializeOptions, where = "materialize"): Omit<AssetMaterialization, "flowRunId" | "taskRunId" | "inputs"> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new TypeError(`${where}(asset, options): options must be an object`);
  const known = new Set(["version", "hash", "rows", "schema", "metadata", "value"]);
  const unknown = Object.keys(options).find((k) => !known.has(k));
  if (unknown) throw new TypeError(`${where}(asset, options): "${unknown}" is not an option; options: ${[...known].join(", ")}`);
  if (options.version !== undefined) {
    const problem = versionProblem(options.version);
    if (problem) throw new TypeError(`${where}(asset, { version }): version ${problem}`);
  }
  if (options.hash !== undefined) {
    const problem = versionProblem(options.hash);
    if (problem) throw new TypeError(`${where}(asset, { hash }): hash ${problem}`);
  }
  if (options.rows !== undefined && (typeof options.rows !== "number" || !Number.isSafeInteger(options.rows) || options.rows < 0))
    throw new TypeError(`${where}(asset, { rows }): rows must be a whole number ≥ 0, got ${String(options.rows)}`);
  if (options.metadata !== undefined && (options.metadata === null || typeof options.metadata !== "object" || Array.isArray(options.metadata)))
    throw new TypeError(`${where}(asset, { metadata }): metadata must be an object`);
  const schema = options.schema === undefined ? null : jsonText(options.schema, `${where}(asset, { schema })`);
  const metadata = options.metadata === undefined ? null : jsonText(options.metadata, `${where}(asset, { metadata })`);
  const rows = options.rows ?? null;
  let hash: string;
  if (options.hash !== undefined) hash = options.hash;
  else if ("value" in options) hash = contentHash(serialize(options.value, `${where}(asset "${key}", { value })`));
  else hash = contentHash(canonicalJson({ metadata: options.metadata ?? null, rows, schema: options.schema ?? null }));
  return { key, version: options.version ?? null, hash, rows, schema, metadata };
}

/** A pinned version that does not exist, or an input version id that names nothing. */
export class AssetVersionNotFoundError extends BatonError {
  override name = "AssetVersionNotFoundError";
}

/** A version name already taken by different content (versions are immutable). */
export class AssetVersionConflictError extends BatonError {
  override name = "AssetVersionConflictError";
}
