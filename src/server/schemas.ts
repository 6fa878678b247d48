/**
 * The API's JSON Schemas, generated from the zod declarations in src/schemas: they validate
 * requests and serialise answers, and generate the OpenAPI document, so neither the
 * documentation nor the clients can drift from what the server accepts and answers.
 */
import { COMPONENTS } from "../schemas/components.ts";
import { componentSchema, jsonSchema, type JsonSchema } from "../schemas/json-schema.ts";
import { ErrorResponseSchema } from "../schemas/error.ts";

export { jsonSchema };

/** The named schemas, registered once with Fastify and each ajv instance. */
export const SHARED_SCHEMAS = COMPONENTS.map(componentSchema);

const errorResponse = jsonSchema(ErrorResponseSchema);

/** Standard error responses for a route. */
export function errorResponses<const Code extends number>(...codes: Code[]): Record<Code, JsonSchema> {
  return Object.fromEntries(codes.map((c) => [c, errorResponse])) as Record<Code, JsonSchema>;
}
