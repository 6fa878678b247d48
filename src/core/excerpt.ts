/**
 * Values quoted in messages are cut. A message that echoes what the caller sent grows with it
 * (a 589 KB request once got a 589 KB error body), and the person reading it needs the field
 * and the start of the value, not all of it; the original length says how much was left out.
 */

/** How much of a value a message quotes. */
export const EXCERPT_CHARS = 200;

/** `text`, or its first `max` characters, an ellipsis and the original length. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return text.length <= max ? text : `${head(text, max)}… (${text.length.toLocaleString("en")} characters)`;
}

/** A field path for a message: long ones (user keys, deep nesting) cut to their first 120 characters. */
export function cutPath(path: string): string {
  return path.length <= 120 ? path : `${head(path, 120)}…`;
}

/**
 * `value` for an error's details: strings cut as by `excerpt`, and anything whose JSON is longer
 * than `max` replaced by an excerpt of that JSON (a string). Short values keep their type.
 */
export function excerptValue(value: unknown, max = EXCERPT_CHARS): unknown {
  if (typeof value === "string") return excerpt(value, max);
  if (value === null || typeof value !== "object") return value;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return "[cannot be shown]";
  }
  return text === undefined || text.length <= max ? value : excerpt(text, max);
}

/** The first `max` characters, not ending between the two halves of a surrogate pair. */
function head(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
