/**
 * Variables and secrets as the API answers them, and how the pages show them. The shapes are
 * src/store/value-types.ts's, written out here because that module reaches node:crypto, which
 * the dashboard's type-check has no types for (they move to src/schemas, then come from there).
 */

export interface Variable {
  name: string;
  value: unknown;
  tags: string[];
  createdAt: number;
  updatedAt: number;
}

/** All that is ever said of a secret: its name and times. */
export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** The longest value shown in a list before it is cut (the rest is a click away). */
export const PREVIEW_CHARS = 80;

/** A value as one line of JSON, cut at `PREVIEW_CHARS`; `cut` says whether it was. */
export function valuePreview(value: unknown): { text: string; cut: boolean } {
  const text = JSON.stringify(value);
  return text.length > PREVIEW_CHARS ? { text: `${text.slice(0, PREVIEW_CHARS)}…`, cut: true } : { text, cut: false };
}

/** The JSON text parsed, or why it is not JSON. */
export function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
}

/** Which field of a form a server's 400 names (`params.name: …`, `body.tags …`); "value" otherwise. */
export function fieldOfError(message: string): "name" | "tags" | "value" {
  if (message.startsWith("params.name")) return "name";
  if (message.startsWith("body.tags")) return "tags";
  return "value";
}

/** "a, b,, c " → ["a", "b", "c"]. */
export function tagList(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}
