/**
 * The API's JSON body parser: Fastify's (prototype poisoning refused), plus nesting depth (see
 * json-depth.ts: a body nested more than MAX_JSON_DEPTH levels is a 400 naming the field) and
 * NUL characters.
 * PostgreSQL cannot store U+0000 in text, so a NUL must not reach an INSERT. In free text —
 * messages, stacks, descriptions, which user code may legitimately produce — it becomes U+FFFD;
 * in anything else (names, ids, keys) it is refused with a 400 naming the field. Values stored
 * as JSON text (parameters, artifact data, log extras, errors, tags) keep it: JSON
 * escapes it as \u0000. JSON must escape a NUL too, so bodies without "\u0000" skip the walk.
 */
import type { FastifyInstance } from "fastify";
import { MAX_JSON_DEPTH } from "../core/json-values.ts";
import { cutPath } from "../core/excerpt.ts";
import { ApiError } from "./errors.ts";
import { findTooDeep, nestedDeeperThan } from "./json-depth.ts";

/** Keys whose string values are free text: a NUL there is replaced. */
const FREE_TEXT = new Set(["message", "stack", "description"]);
/** Keys whose values are stored as JSON text: left as they are. */
const JSON_STORED = new Set(["parameters", "data", "extra", "error", "cause", "tags"]);
/** An escaped NUL (`\u0000`) not preceded by an escaped backslash. */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    void parse(request, text, (error, value) => {
      // V8 parses iteratively; a parser that recursed would throw RangeError on a deep body.
      if (error instanceof RangeError) return done(new ApiError(400, "VALIDATION_ERROR", `the body is nested too deeply to be read; at most ${MAX_JSON_DEPTH} levels are allowed`));
      if (error) return done(error);
      // Before the NUL scrub, which recurses.
      const deep = nestedDeeperThan(value, MAX_JSON_DEPTH) ? findTooDeep(value, MAX_JSON_DEPTH, JSON_STORED) : null;
      if (deep) return done(new ApiError(400, "VALIDATION_ERROR", `${deep.field} is nested more than ${MAX_JSON_DEPTH} levels deep (at ${deep.at})`, { field: deep.field, limit: MAX_JSON_DEPTH }));
      if (!text.includes("\\u0000") || !ESCAPED_NUL.test(text)) return done(null, value);
      try {
        done(null, scrub(value, "body", false));
      } catch (failure) {
        done(failure as Error);
      }
    });
  });
}

function scrub(value: unknown, path: string, freeText: boolean): unknown {
  if (typeof value === "string") {
    if (!value.includes("\u0000")) return value;
    if (freeText) return value.replaceAll("\u0000", "\uFFFD");
    throw new ApiError(400, "VALIDATION_ERROR", `${cutPath(path)} contains a NUL character (\\u0000), which names and ids may not contain`);
  }
  if (Array.isArray(value)) return value.map((item, i) => scrub(item, `${path}.${i}`, freeText));
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (JSON_STORED.has(key)) continue;
      record[key] = scrub(record[key], `${path}.${key}`, freeText || FREE_TEXT.has(key));
    }
  }
  return value;
}

/** True if a URL carries a NUL (`%00`), which no name, id or filter may contain. */
export function urlHasNul(url: string): boolean {
  return /%00/.test(url);
}
