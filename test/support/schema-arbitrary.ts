/**
 * fast-check arbitraries from the OpenAPI document's JSON Schemas (OpenAPI 3.1: JSON Schema
 * 2020-12): values a schema accepts, and values it must refuse — each a valid value with one
 * thing broken (a required field dropped, an unknown field added, a field of the wrong type or
 * out of range), or hostile text (SQL injection, path traversal, odd Unicode, a very long string)
 * where a string goes. The fuzz test (test/integration/api-fuzz.test.ts) drives every route with
 * them.
 */
import fc from "fast-check";

export type Schema = { [key: string]: unknown };

/** Strings that have broken SQL, paths and parsers elsewhere; every filter and name gets them. */
export const HOSTILE_STRINGS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE flow_runs; --",
  '" OR ""="',
  "1; SELECT pg_sleep(5); --",
  "1' UNION SELECT name, sql FROM sqlite_master --",
  "%' OR 1=1 --",
  "\\'; --",
  "../../../../etc/passwd",
  "..\\..\\..\\windows\\win.ini",
  "/etc/passwd",
  "....//....//etc/passwd",
  "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "$(rm -rf /)",
  "{{ secrets.x }}",
  "${jndi:ldap://x}",
  "<script>alert(1)</script>",
  "\u202e\u0645\u0631\u062d\u0628\u0627",
  "😀".repeat(20),
  "\ud800",
  "a".repeat(5000),
  "",
  " ",
  "null",
  "-1",
  "9".repeat(40),
  "1e309",
  "NaN",
  "__proto__",
  "constructor",
];

/** Values of every JSON type, for a field that should hold another. */
const ANY_JSON: readonly unknown[] = [null, true, 0, -1, 1.5, 2 ** 53 + 2, "x", "", [], [1, "a"], {}, { a: 1 }];

export interface ArbitraryOptions {
  /** The document, for `$ref`s to `#/components/schemas/...`. */
  document: Schema;
  /** Arbitraries for properties by name, wherever they appear (e.g. keep `waitMs` short). */
  overrides?: Readonly<Record<string, fc.Arbitrary<unknown>>>;
}

/** Values `schema` accepts. */
export function validValue(schema: Schema | undefined, options: ArbitraryOptions, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue({ maxDepth: 2 });
  const s = resolve(schema, options.document);
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  if (Array.isArray(s.anyOf)) return fc.oneof(...(s.anyOf as Schema[]).map((m) => validValue(m, options, depth + 1)));
  if (Array.isArray(s.oneOf)) return fc.oneof(...(s.oneOf as Schema[]).map((m) => validValue(m, options, depth + 1)));
  if (Array.isArray(s.allOf)) return validValue(mergeAll(s.allOf as Schema[], options.document), options, depth);
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : s.properties ? ["object"] : null;
  if (!types) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((type) => valueOfType(type, s, options, depth)));
}

function valueOfType(type: string, s: Schema, options: ArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return integerIn(s);
    case "number": {
      const min = num(s.minimum) ?? num(s.exclusiveMinimum) ?? -1e6;
      const max = num(s.maximum) ?? num(s.exclusiveMaximum) ?? 1e6;
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((n) => (s.exclusiveMinimum === undefined || n > Number(s.exclusiveMinimum)) && (s.exclusiveMaximum === undefined || n < Number(s.exclusiveMaximum)));
    }
    case "string":
      return stringIn(s);
    case "array": {
      const minLength = num(s.minItems) ?? 0;
      const maxLength = Math.max(minLength, Math.min(num(s.maxItems) ?? 3, 3));
      const items = depth > 4 ? fc.constant("x") : validValue(s.items as Schema | undefined, options, depth + 1);
      return fc.array(items, { minLength, maxLength });
    }
    case "object":
      return objectIn(s, options, depth);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function objectIn(s: Schema, options: ArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  const properties = (s.properties ?? {}) as Record<string, Schema>;
  const required = new Set((s.required ?? []) as string[]);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, child] of Object.entries(properties)) {
    if (depth > 4 && !required.has(key)) continue;
    model[key] = options.overrides?.[key] ?? validValue(child, options, depth + 1);
  }
  const known = fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
  const extra = s.additionalProperties;
  if (extra === undefined || extra === false || Object.keys(properties).length > 0) return known;
  // A free-form object (a record): keys by its propertyNames, values by additionalProperties.
  const names = s.propertyNames ? stringIn(resolve(s.propertyNames as Schema, options.document)) : fc.string({ minLength: 1, maxLength: 8 });
  const values = extra === true ? fc.jsonValue({ maxDepth: 1 }) : validValue(extra as Schema, options, depth + 1);
  return fc.dictionary(names as fc.Arbitrary<string>, values, { maxKeys: Math.min(num(s.maxProperties) ?? 3, 3) });
}

function integerIn(s: Schema): fc.Arbitrary<number> {
  const low = Math.ceil(Math.max(num(s.minimum) ?? (num(s.exclusiveMinimum) !== undefined ? Number(s.exclusiveMinimum) + 1 : -1e9), -Number.MAX_SAFE_INTEGER));
  const high = Math.floor(Math.min(num(s.maximum) ?? (num(s.exclusiveMaximum) !== undefined ? Number(s.exclusiveMaximum) - 1 : 1e9), Number.MAX_SAFE_INTEGER));
  // Small values are what most fields see; the bounds are where off-by-ones live.
  const small = fc.integer({ min: Math.max(low, -1000), max: Math.max(Math.max(low, -1000), Math.min(high, 1000)) });
  return fc.oneof(small, fc.constantFrom(low, high), fc.bigInt({ min: BigInt(low), max: BigInt(high) }).map(Number));
}

function stringIn(s: Schema): fc.Arbitrary<string> {
  const minLength = num(s.minLength) ?? 0;
  const maxLength = num(s.maxLength) ?? 60;
  const fits = (v: string) => v.length >= minLength && v.length <= maxLength;
  if (typeof s.pattern === "string") {
    let pattern: RegExp;
    try {
      pattern = new RegExp(s.pattern, "u");
    } catch {
      pattern = new RegExp(s.pattern);
    }
    // The pattern bounds the length itself (a sha256's 64 digits pass a default cap of 60), and
    // no filter: one that never passes loops forever, synchronously, past any test timeout. A
    // string cut to maxLength may no longer match: the server refuses it, which is fine here.
    const cap = num(s.maxLength) ?? Infinity;
    return fc.stringMatching(pattern, { size: "small" }).map((v) => (v.length > cap ? v.slice(0, cap) : v));
  }
  if (s.format === "uri" || s.format === "url") return fc.webUrl().map((v) => (fits(v) ? v : v.slice(0, maxLength)));
  return fc.string({ minLength, maxLength: Math.min(maxLength, Math.max(minLength, 24)) });
}

/** Values `schema` must refuse: a valid one with one thing broken. */
export function invalidValue(schema: Schema | undefined, options: ArbitraryOptions): fc.Arbitrary<unknown> {
  const s = schema ? resolve(schema, options.document) : {};
  const valid = validValue(s, options);
  const wrongRoot = fc.constantFrom<unknown>(...ANY_JSON);
  const broken: fc.Arbitrary<unknown>[] = [wrongRoot, valid.chain((value) => breakOne(value, s, options))];
  return fc.oneof(...broken);
}

/** `value` (valid for `s`) with one field dropped, added, retyped, or given hostile text. */
function breakOne(value: unknown, s: Schema, options: ArbitraryOptions): fc.Arbitrary<unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fc.constantFrom<unknown>(...ANY_JSON, ...HOSTILE_STRINGS);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const required = ((s.required ?? []) as string[]).filter((k) => k in record);
  const mutations: fc.Arbitrary<unknown>[] = [
    fc.constant({ ...record, __fuzz_unknown_field: 1 }),
    fc.constantFrom(...HOSTILE_STRINGS).map((text) => ({ ...record, [text.slice(0, 40) || "empty"]: text })),
  ];
  if (required.length > 0)
    mutations.push(
      fc.constantFrom(...required).map((key) => {
        const { [key]: _dropped, ...rest } = record;
        return rest;
      }),
    );
  if (keys.length > 0)
    mutations.push(
      fc.tuple(fc.constantFrom(...keys), fc.constantFrom<unknown>(...ANY_JSON, ...HOSTILE_STRINGS, "x".repeat(200_000))).map(([key, bad]) => ({ ...record, [key]: bad })),
      // A nested value broken the same way (a field of a field).
      fc.constantFrom(...keys).chain((key) => {
        const child = ((s.properties ?? {}) as Record<string, Schema>)[key];
        const inner = record[key];
        if (!child || inner === null || typeof inner !== "object") return fc.constant({ ...record, [key]: "x".repeat(3) });
        return breakOne(inner, resolve(child, options.document), options).map((b) => ({ ...record, [key]: b }));
      }),
    );
  return fc.oneof(...mutations);
}

/** A `$ref` followed into the document (`#/components/schemas/Name`). */
export function resolve(schema: Schema, document: Schema): Schema {
  let s = schema;
  for (let hops = 0; typeof s.$ref === "string" && hops < 10; hops++) {
    const path = (s.$ref as string).replace(/^#\//, "").split("/");
    let target: unknown = document;
    for (const part of path) target = (target as Schema | undefined)?.[decodeURIComponent(part.replaceAll("~1", "/").replaceAll("~0", "~"))];
    if (!target) throw new Error(`unresolved $ref ${String(s.$ref)}`);
    s = target as Schema;
  }
  return s;
}

function mergeAll(schemas: Schema[], document: Schema): Schema {
  const merged: Schema = { type: "object", properties: {}, required: [] };
  for (const part of schemas.map((p) => resolve(p, document))) {
    Object.assign(merged.properties as Schema, part.properties ?? {});
    (merged.required as string[]).push(...((part.required ?? []) as string[]));
  }
  return merged;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
