/**
 * Run parameters checked against a deployment's JSON Schema (made from the flow's zod schema),
 * so a bad parameter is refused naming the field when the run is asked for, not a run that
 * fails later. ajv fills in the schema's defaults as it checks.
 */
import { Ajv, type ErrorObject } from "ajv";
import { describeIssues } from "../core/schema-issues.ts";
import { excerpt } from "../core/excerpt.ts";
import { InvalidParametersError } from "./errors.ts";

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false });
/** Compiled validators by schema text: deployments share a handful of schemas, each compiled once. */
const validators = new Map<string, ReturnType<Ajv["compile"]>>();

/**
 * Checks `parameters` against `schema` (none: anything goes), filling in the schema's defaults
 * in place; an InvalidParametersError names each bad field ("parameters.seed must be integer").
 */
export function checkParameters(schema: Record<string, unknown> | null, parameters: Record<string, unknown>): void {
  const issues = schemaIssues(schema, parameters, "parameters");
  if (issues) throw new InvalidParametersError(issues.message, issues.details);
}

/**
 * Why `value` fails `schema` (none: anything goes), each issue named under `part`
 * ("input.approved must be boolean"), or null when it passes; fills in the schema's defaults in place.
 */
export function schemaIssues(schema: Record<string, unknown> | null, value: unknown, part: string): { message: string; details: unknown[] } | null {
  if (!schema) return null;
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  return validate(value) ? null : describeIssues((validate.errors ?? []) as ErrorObject[], part);
}

/** Why ajv cannot use `schema` as a JSON Schema (cut to an excerpt), or null when it can. */
export function parameterSchemaProblem(schema: Record<string, unknown>): string | null {
  try {
    ajv.compile(schema);
    return null;
  } catch (error) {
    return excerpt((error as Error).message);
  }
}
