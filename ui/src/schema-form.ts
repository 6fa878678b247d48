/**
 * The model of the forms drawn from a JSON Schema (a deployment's Run form, a paused run's input form): which input each parameter gets, how its text becomes a
 * value, and a browser-side check of values against the parameter JSON Schema. The check covers
 * the keywords a form can get wrong (types, integers, enum/const, numeric bounds and multipleOf,
 * string lengths, pattern and common formats, array items/length/uniqueness, nested objects
 * with required and additionalProperties); the server checks the whole schema again with Ajv,
 * and its message is shown when it refuses what the browser let through. Messages name the
 * field as the server does: `parameters.count must be >= 1`.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  description?: string;
  title?: string;
}

export type FieldKind = "integer" | "number" | "boolean" | "string" | "enum" | "json";

/** The schema without a `null` alternative (zod's `.nullable()`, `type: ["x", "null"]`), and whether null is allowed. */
export function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const rest = alternatives.filter((s) => s.type !== "null");
    if (rest.length === 1 && rest.length < alternatives.length) return { schema: { ...schema, anyOf: undefined, oneOf: undefined, ...rest[0] }, nullable: true };
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== "null");
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: types.length < schema.type.length };
  }
  return { schema, nullable: false };
}

/**
 * The values a field may take when it is a choice: its `enum`, or the `const` of each
 * alternative of an `anyOf`/`oneOf` of constants (zod's `z.union([z.literal("a"), …])`, null
 * among them when one alternative is null); null when it is not a choice.
 */
export function enumOptions(raw: JsonSchema): unknown[] | null {
  const { schema } = unwrapNullable(raw);
  if (schema.enum) return schema.enum;
  const alternatives = schema.anyOf ?? schema.oneOf;
  const choices = alternatives?.filter((a) => a.type !== "null");
  if (!choices?.length || !choices.every((a) => a.const !== undefined || a.enum !== undefined)) return null;
  const values = choices.flatMap((a) => a.enum ?? [a.const]);
  // A null alternative beside several constants is one more choice.
  return choices.length < alternatives!.length ? [...values, null] : values;
}

export function fieldKind(raw: JsonSchema): FieldKind {
  const { schema } = unwrapNullable(raw);
  if (enumOptions(raw)) return "enum";
  if (Array.isArray(schema.type) || schema.anyOf || schema.oneOf) return "json";
  switch (schema.type) {
    case "integer":
    case "number":
    case "boolean":
    case "string":
      return schema.type;
    case undefined:
      return schema.properties || schema.items ? "json" : "string";
    default:
      return "json";
  }
}

/** A value as the form shows it. */
export function toText(value: unknown, raw: JsonSchema): string {
  if (value === undefined) return "";
  const kind = fieldKind(raw);
  if (kind === "json" || (kind === "enum" && typeof value !== "string") || value === null) return JSON.stringify(value);
  return String(value);
}

/**
 * A form field's text as a value; undefined for an empty field (the default applies). `part`
 * names what the form fills in messages: a deployment's `parameters`, a paused run's `input`.
 */
export function fromText(name: string, raw: JsonSchema, text: string, part = "parameters"): { value: unknown } | { error: string } | undefined {
  if (text.trim() === "") return undefined;
  const { nullable } = unwrapNullable(raw);
  if (nullable && text.trim() === "null") return { value: null };
  switch (fieldKind(raw)) {
    case "integer":
    case "number": {
      const n = Number(text);
      return Number.isFinite(n) ? { value: n } : { error: `${part}.${name} must be a number` };
    }
    case "boolean":
      return { value: text === "true" };
    case "string":
      return { value: text };
    case "enum": {
      const options = enumOptions(raw) ?? [];
      const match = options.find((o) => toText(o, raw) === text);
      return match === undefined ? { error: `${part}.${name} must be one of ${options.map((o) => JSON.stringify(o)).join(", ")}` } : { value: match };
    }
    case "json":
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: `${part}.${name} must be JSON (${unwrapNullable(raw).schema.type ?? "a value"})` };
      }
  }
}

const FORMATS: Record<string, RegExp> = {
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uri: /^[a-z][a-z0-9+.-]*:[^\s]*$/i,
  url: /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/,
  "date-time": /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i,
};

const typeName = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

function matchesType(value: unknown, type: string): boolean {
  const actual = typeName(value);
  return actual === type || (type === "number" && actual === "integer");
}

/** A pattern the browser cannot compile is left to the server's check. */
function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, "u").test(value);
  } catch {
    return true;
  }
}

/** The first problem of `value` at `path` against `schema`, or null. */
export function check(path: string, raw: JsonSchema, value: unknown): string | null {
  const { schema, nullable } = unwrapNullable(raw);
  if (value === null && nullable) return null;
  if (schema.const !== undefined && JSON.stringify(value) !== JSON.stringify(schema.const)) return `${path} must be ${JSON.stringify(schema.const)}`;
  if (schema.enum && !schema.enum.some((o) => JSON.stringify(o) === JSON.stringify(value))) return `${path} must be one of ${schema.enum.map((o) => JSON.stringify(o)).join(", ")}`;
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length && !types.some((t) => matchesType(value, t))) return `${path} must be ${types.join(" or ")}`;
  if (schema.anyOf && !schema.anyOf.some((s) => check(path, s, value) === null)) return `${path} must match one of its allowed shapes`;
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) return `${path} must be >= ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${path} must be <= ${schema.maximum}`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `${path} must be > ${schema.exclusiveMinimum}`;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `${path} must be < ${schema.exclusiveMaximum}`;
    if (schema.multipleOf !== undefined && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) return `${path} must be a multiple of ${schema.multipleOf}`;
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) return `${path} must have at least ${schema.minLength} character(s)`;
    if (schema.maxLength !== undefined && length > schema.maxLength) return `${path} must have at most ${schema.maxLength} character(s)`;
    if (schema.pattern !== undefined && !safeTest(schema.pattern, value)) return `${path} must match the pattern ${schema.pattern}`;
    const format = schema.format ? FORMATS[schema.format] : undefined;
    if (format && !format.test(value)) return `${path} must be a valid ${schema.format}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `${path} must have at least ${schema.minItems} item(s)`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${path} must have at most ${schema.maxItems} item(s)`;
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size < value.length) return `${path} must not repeat items`;
    if (schema.items)
      for (let i = 0; i < value.length; i++) {
        const problem = check(`${path}.${i}`, schema.items, value[i]);
        if (problem) return problem;
      }
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (record[name] === undefined) return `${path}.${name} is required`;
    for (const [name, v] of Object.entries(record)) {
      const field = schema.properties?.[name];
      if (field) {
        const problem = check(`${path}.${name}`, field, v);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) return `${path} has an unknown field "${name}"`;
      else if (typeof schema.additionalProperties === "object") {
        const problem = check(`${path}.${name}`, schema.additionalProperties, v);
        if (problem) return problem;
      }
    }
  }
  return null;
}

/**
 * Turns the form's texts into the parameters to send, checked against the schema with the
 * deployment's defaults filled in (as the server merges them); a string is the first problem.
 */
export function formParameters(schema: JsonSchema, texts: Record<string, string>, defaults: Record<string, unknown>, part = "parameters"): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const parsed = fromText(name, field, texts[name] ?? "", part);
    if (parsed === undefined) continue;
    if ("error" in parsed) return parsed.error;
    out[name] = parsed.value;
  }
  const merged: Record<string, unknown> = { ...defaults, ...out };
  for (const [name, field] of Object.entries(schema.properties ?? {})) if (merged[name] === undefined && field.default !== undefined) merged[name] = field.default;
  return check(part, { ...schema, type: "object" }, merged) ?? out;
}

/**
 * Every field's problem, by field name (the form shows each at its field): a text that is not a
 * value of its type, a required field left empty with no default, a value the schema refuses.
 * Empty when the form can be sent.
 */
export function fieldProblems(schema: JsonSchema, texts: Record<string, string>, defaults: Record<string, unknown>, part = "parameters"): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const parsed = fromText(name, field, texts[name] ?? "", part);
    if (parsed && "error" in parsed) {
      problems[name] = parsed.error;
      continue;
    }
    const value = parsed ? parsed.value : (defaults[name] ?? field.default);
    if (value === undefined) {
      if (schema.required?.includes(name)) problems[name] = `${part}.${name} is required`;
      continue;
    }
    const problem = check(`${part}.${name}`, field, value);
    if (problem) problems[name] = problem;
  }
  return problems;
}

/** The field a server's message names (`body.parameters.depth must be >= 1` → "depth"), if one of `names`. */
export function fieldOfMessage(message: string, names: readonly string[], part = "parameters"): string | null {
  const match = new RegExp(`(?:^|[\\s.])${part}\\.([^\\s.:\\[]+)`).exec(message);
  return match && names.includes(match[1]!) ? match[1]! : null;
}
