/**
 * Flow parameters are stored as JSON and handed to the flow again on resume, so they must be
 * JSON already: `JSON.stringify` alone would silently turn a Date into a string, drop a function
 * or a Map's entries, make NaN and undefined-in-an-array null, and throw on a BigInt — and a
 * resumed run would get values different from the first run's. `findNonJson` names the first
 * such value by its path.
 *
 * Nor may they nest deeper than MAX_JSON_DEPTH: `JSON.stringify` recurses and throws RangeError
 * a few thousand levels down. The API refuses bodies nested deeper (server/json-depth.ts), so a
 * flow gets the same parameters in direct mode as through the API.
 */
import { cutPath } from "./excerpt.ts";

/** What JSON holds, for messages. */
export const JSON_KINDS = "string, number, boolean, null, arrays, plain objects";

/** How many levels of objects and arrays a stored JSON value (parameters, data, extras) may nest. */
export const MAX_JSON_DEPTH = 64;

/**
 * The first value under `value` that JSON does not keep as it is, or null when there is none.
 * `path` in the answer is cut for a message (keys may be long, nesting deep).
 */
export function findNonJson(value: unknown, path: string): { path: string; what: string } | null {
  const found = visit(value, path, new Set(), 0);
  return found && { path: cutPath(found.path), what: found.what };
}

/** Recursive, but never deeper than MAX_JSON_DEPTH + 1 calls: the depth is checked first. */
function visit(value: unknown, path: string, ancestors: Set<object>, depth: number): { path: string; what: string } | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : { path, what: String(value) };
    case "bigint":
      return { path, what: "a BigInt" };
    case "undefined":
      return { path, what: "undefined" };
    case "function":
      return { path, what: "a function" };
    case "symbol":
      return { path, what: "a symbol" };
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return { path, what: "a circular reference" };
  if (depth >= MAX_JSON_DEPTH) return { path, what: `nested more than ${MAX_JSON_DEPTH} levels deep` };
  const proto = Object.getPrototypeOf(object);
  if (!Array.isArray(object) && proto !== Object.prototype && proto !== null) return { path, what: `a ${describeClass(object)}` };
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const found = visit(object[i], `${path}[${i}]`, ancestors, depth + 1);
        if (found) return found;
      }
      return null;
    }
    for (const [key, child] of Object.entries(object)) {
      // An undefined property reads back as missing: the same value for the flow.
      if (child === undefined) continue;
      const found = visit(child, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, ancestors, depth + 1);
      if (found) return found;
    }
    return null;
  } finally {
    ancestors.delete(object);
  }
}

function describeClass(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === "string" && name ? name : "object with a prototype";
}

/**
 * A JSON rendering of any value, for showing what was passed (the stored parameters of a run
 * refused for non-JSON parameters): never throws, marks what JSON cannot hold.
 */
export function jsonPreview(value: unknown): unknown {
  const ancestors: unknown[] = [];
  try {
    const text = JSON.stringify(value, function (this: unknown, _key, child: unknown) {
      if (typeof child === "bigint") return `${child}n`;
      if (typeof child === "function") return `[function ${child.name || "anonymous"}]`;
      if (typeof child === "symbol") return child.toString();
      if (typeof child === "number" && !Number.isFinite(child)) return String(child);
      if (child === null || typeof child !== "object") return child;
      // `this` is the holder: keep only the ancestors on the path down to it.
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
      if (ancestors.includes(child)) return "[circular]";
      // Cut where findNonJson stops: deeper, JSON.stringify itself would overflow the stack.
      if (ancestors.length >= MAX_JSON_DEPTH) return `[nested more than ${MAX_JSON_DEPTH} levels deep]`;
      ancestors.push(child);
      if (!(child instanceof Map) && !(child instanceof Set)) return child;
      const replacement = child instanceof Map ? { "[Map]": [...child.entries()] } : { "[Set]": [...child.values()] };
      ancestors.push(replacement); // the holder of the entries serialised next
      return replacement;
    });
    return text === undefined ? null : (JSON.parse(text) as unknown);
  } catch (error) {
    return `[cannot be shown: ${(error as Error).message}]`;
  }
}
