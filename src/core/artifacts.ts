/**
 * What an artifact's data may be, by type, checked in one place for the SDK, the API and the
 * store's in-place updates:
 *
 *   markdown  a string (rendered by the dashboard with scripts and handlers removed)
 *   table     an array of row objects; updatable in place (replace, or append rows)
 *   link      { url, title? } with an http(s) URL
 *   progress  a number 0..100; updatable in place
 *   image     { mimeType, size } with the bytes stored beside it (PNG or SVG, at most
 *             IMAGE_MAX_BYTES; served from /api/artifacts/{id}/content with a sandbox CSP),
 *             or { url, mimeType? } for an image elsewhere
 *
 * Pure.
 */
import { BatonError } from "./errors.ts";

export const ARTIFACT_TYPES = ["markdown", "table", "link", "progress", "image"] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

/** The types `update()` may change in place (a markdown report may be rewritten too). */
export const UPDATABLE_TYPES: readonly ArtifactType[] = ["markdown", "table", "progress"];

export const IMAGE_MIME_TYPES = ["image/png", "image/svg+xml"] as const;
export type ImageMimeType = (typeof IMAGE_MIME_TYPES)[number];

/** The largest image stored in the database: bigger belongs in object storage, linked by URL. */
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;

/** Artifact data that does not fit its type, or an update the artifact cannot take; the message names what to fix. */
export class ArtifactDataError extends BatonError {
  override name = "ArtifactDataError";
}

/** An image's bytes are over IMAGE_MAX_BYTES. */
export class ArtifactTooLargeError extends BatonError {
  override name = "ArtifactTooLargeError";
  constructor(readonly size: number) {
    super(`an image artifact is at most ${IMAGE_MAX_BYTES} bytes (2 MiB), this one is ${size}; store it elsewhere and pass its URL instead`);
  }
}

const isRow = (row: unknown) => row !== null && typeof row === "object" && !Array.isArray(row);

/** Throws an ArtifactDataError when `data` is not what a `type` artifact holds. */
export function checkArtifactData(type: string, data: unknown): void {
  if (!(ARTIFACT_TYPES as readonly string[]).includes(type)) throw new ArtifactDataError(`artifact type must be one of ${ARTIFACT_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  if (type === "markdown" && typeof data !== "string") throw new ArtifactDataError("a markdown artifact's data must be a string");
  if (type === "table") checkRows(data);
  if (type === "link") {
    const url = (data as { url?: unknown } | null)?.url;
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) throw new ArtifactDataError("a link artifact's data must be { url, title? } with an http or https URL");
  }
  if (type === "progress") checkProgress(data);
  if (type === "image") {
    const d = (data ?? {}) as { url?: unknown; mimeType?: unknown; size?: unknown };
    if (d.url !== undefined) {
      if (typeof d.url !== "string" || !/^https?:\/\//i.test(d.url)) throw new ArtifactDataError("an image artifact's url must be an http or https URL");
    } else if (!IMAGE_MIME_TYPES.includes(d.mimeType as ImageMimeType)) throw new ArtifactDataError(`an image artifact's mimeType must be ${IMAGE_MIME_TYPES.join(" or ")}`);
  }
}

export function checkRows(rows: unknown): asserts rows is Record<string, unknown>[] {
  if (!Array.isArray(rows) || !rows.every(isRow)) throw new ArtifactDataError("a table artifact's data must be an array of row objects");
}

export function checkProgress(value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 100) throw new ArtifactDataError(`progress must be a number from 0 to 100, got ${JSON.stringify(value)}`);
}

/** The image type of `bytes` by their content — never by what the caller says, so an HTML page cannot pass as an image. */
export function sniffImage(bytes: Uint8Array): ImageMimeType | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.every((b, i) => bytes[i] === b)) return "image/png";
  const head = new TextDecoder().decode(bytes.subarray(0, 512)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || ((head.startsWith("<?xml") || head.startsWith("<!--")) && head.includes("<svg"))) return "image/svg+xml";
  return null;
}

/** The stored data of an image artifact made of `bytes`; an error saying why they cannot be one. */
export function imageData(bytes: Uint8Array, mimeType?: string): { mimeType: ImageMimeType; size: number } {
  if (bytes.byteLength > IMAGE_MAX_BYTES) throw new ArtifactTooLargeError(bytes.byteLength);
  const sniffed = sniffImage(bytes);
  if (!sniffed) throw new ArtifactDataError("an image artifact's bytes must be a PNG or an SVG image");
  if (mimeType !== undefined && mimeType !== sniffed) throw new ArtifactDataError(`the image's bytes are ${sniffed}, not the mimeType given (${mimeType})`);
  return { mimeType: sniffed, size: bytes.byteLength };
}

/** The data after an update: `append` adds rows to a table; otherwise the data is replaced. */
export function updatedArtifactData(type: string, current: unknown, data: unknown, append: boolean): unknown {
  if (!UPDATABLE_TYPES.includes(type as ArtifactType)) throw new ArtifactDataError(`a ${type} artifact cannot be updated in place; create a new one with the same key`);
  if (append) {
    if (type !== "table") throw new ArtifactDataError(`append adds rows to a table; this artifact is a ${type}`);
    checkRows(data);
    return [...(Array.isArray(current) ? current : []), ...data];
  }
  checkArtifactData(type, data);
  return data;
}
