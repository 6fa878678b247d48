/**
 * How deeply a request body may nest. `JSON.stringify`, used to store parameters, artifact data,
 * log extras and errors, recurses and throws `RangeError` a few thousand levels down, so a body
 * nested that deep must be refused as it arrives, with a 400 naming the field, instead of
 * failing later as a 500.
 *
 * The depth is counted from the field for values stored as JSON (the JSON_STORED keys of
 * json-body.ts: parameters may be as deep through the API as in direct mode, where
 * `findNonJson` applies the same limit), and from the body's root for the rest of it.
 *
 * Two passes, so that normal bodies pay little: `nestedDeeperThan` walks the parsed body's
 * objects and arrays with a plain stack (well under a millisecond for a 1 MB batch: a scan of
 * the text for brackets took four times as long), and only a body nested deeper than the limit
 * as a whole is walked again, keeping paths, to find the field. Neither recurses, so neither
 * can overflow the stack however deep the body.
 */
import { cutPath } from "../core/excerpt.ts";

/** True if `value` has objects or arrays nested more than `limit` levels deep (`{}` is one level). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: object[] = [value];
  const levels: number[] = [1];
  for (let container = stack.pop(); container; container = stack.pop()) {
    const level = levels.pop()!;
    if (level > limit) return true;
    if (Array.isArray(container)) {
      for (const child of container as unknown[])
        if (child !== null && typeof child === "object") {
          stack.push(child);
          levels.push(level + 1);
        }
    } else {
      // for-in: a parsed body's objects are plain, and it allocates no array of keys.
      for (const key in container) {
        const child = (container as Record<string, unknown>)[key];
        if (child !== null && typeof child === "object") {
          stack.push(child);
          levels.push(level + 1);
        }
      }
    }
  }
  return false;
}

/** A container on the walk: the path to it is rebuilt from `parent` links only for the message. */
interface Frame {
  value: object;
  key: string;
  parent: Frame | null;
  /** Its level from the field (1: the field's value itself). */
  level: number;
  /** The field its depth is counted from: a stored value's, or the body (null). */
  field: Frame | null;
}

/**
 * The first place in `body` nested more than `limit` levels below its field, with the field's
 * path and its own (both cut for a message), or null. `stored` names the keys whose values are
 * counted from themselves.
 */
export function findTooDeep(body: unknown, limit: number, stored: ReadonlySet<string>, root = "body"): { field: string; at: string } | null {
  if (body === null || typeof body !== "object") return null;
  const stack: Frame[] = [{ value: body, key: root, parent: null, level: 1, field: null }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if (frame.level > limit) return { field: cutPath(frame.field ? pathOf(frame.field) : root), at: cutPath(pathOf(frame)) };
    const value = frame.value as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (child === null || typeof child !== "object") continue;
      // Keys of arrays name no field: only an object's key starts a stored value.
      if (frame.field === null && !Array.isArray(value) && stored.has(key)) {
        const next: Frame = { value: child, key, parent: frame, level: 1, field: null };
        next.field = next;
        stack.push(next);
      } else {
        stack.push({ value: child, key, parent: frame, level: frame.level + 1, field: frame.field });
      }
    }
  }
  return null;
}

function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f; f = f.parent) keys.push(f.key);
  return keys.reverse().join(".");
}
