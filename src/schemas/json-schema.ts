/**
 * JSON Schemas from the zod declarations: what the server validates requests with (ajv),
 * serialises answers with (fast-json-stringify) and documents (OpenAPI 3.1). A named schema
 * (`.meta({ id })`) is written once, under its id (`componentSchema`), and everywhere else as
 * `{ "$ref": "<id>#" }`, the reference form of Fastify's shared schemas.
 *
 * Draft-07, ajv's default. Each schema is converted as zod reads its *input*: fields with a
 * default are optional, and the default is written out for ajv to apply (`useDefaults`), so a
 * route receives what zod's output type says.
 */
import { z } from "zod";

export type JsonSchema = { [key: string]: unknown };

/** The JSON Schemas of custom zod schemas (`z.custom`), which zod cannot write itself. */
const CUSTOM = new WeakMap<object, JsonSchema>();

/** `schema`, documented and validated by the server as `json`. */
export function withJsonSchema<T extends z.ZodType>(schema: T, json: JsonSchema): T {
  CUSTOM.set(schema, json);
  return schema;
}

/** The JSON Schema of a request part or an answer; a named schema is a reference to its component. */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const id = idOf(schema);
  return id ? { $ref: `${id}#` } : convert(schema);
}

/** A named schema's own JSON Schema, with its `$id`. */
export function componentSchema(schema: z.ZodType): JsonSchema {
  const id = idOf(schema);
  if (!id) throw new TypeError("componentSchema needs a schema named with .meta({ id })");
  return { $id: id, ...convert(schema) };
}

function idOf(schema: z.ZodType): string | undefined {
  const id: unknown = z.globalRegistry.get(schema)?.id;
  return typeof id === "string" ? id : undefined;
}

function convert(schema: z.ZodType): JsonSchema {
  const { $schema: _draft, definitions, ...body } = z.toJSONSchema(schema, { target: "draft-07", io: "input", unrepresentable: ({ zodSchema }) => CUSTOM.get(zodSchema) ?? "throw" }) as JsonSchema;
  const defs = (definitions ?? {}) as Record<string, JsonSchema>;
  // zod names `__schema0`… a schema it had to write out once and refer to (used recursively).
  for (const key of Object.keys(defs))
    if (/^__schema\d+$/.test(key)) throw new TypeError(`a schema used recursively must be named with .meta({ id }) (zod wrote it as "${key}")`);
  const id = idOf(schema);
  // zod puts a named root under `definitions` and answers a reference to it.
  return tidy(id && defs[id] ? defs[id] : body) as JsonSchema;
}

/**
 * zod's output in the forms the server takes (and OpenAPI 3.1, JSON Schema 2020-12, takes as
 * they are): references to shared schemas by id, a nullable field as `anyOf` (ajv's messages for
 * each branch name the field as they always did), tuples as arrays of their members' union
 * (draft-07's tuple form means something else in 2020-12), and without the always-true
 * `propertyNames: { type: "string" }` of records.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (!value || typeof value !== "object") return value;
  const node: JsonSchema = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "$ref" && typeof child === "string") node.$ref = `${child.replace(/^#\/definitions\//, "")}#`;
    else if (key === "propertyNames" && isBareString(child)) continue;
    else if (key === "type" && Array.isArray(child)) node.anyOf = child.map((type: unknown) => ({ type }));
    // Draft-07's tuple `items` is not 2020-12's: a tuple's items become the union of its members.
    else if (key === "items" && Array.isArray(child)) node.items = { anyOf: child.map(tidy) };
    else if (key === "additionalItems") continue;
    else node[key] = tidy(child);
  }
  // A reference that zod wrapped to add nothing (draft-07 cannot put keywords beside `$ref`).
  const allOf = node.allOf;
  if (Array.isArray(allOf) && allOf.length === 1 && Object.keys(node).length === 1) return allOf[0];
  return node;
}

function isBareString(schema: unknown): boolean {
  return JSON.stringify(schema) === '{"type":"string"}';
}
