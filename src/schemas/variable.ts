/** Variables: named JSON values with tags, usable as `{{ variables.name }}` in parameters, job variables and channel settings. */
import { z } from "zod";
import { epochMs, itemsOf } from "./fields.ts";
import { withJsonSchema } from "./json-schema.ts";

/** Any JSON value, and required: zod takes a bare `unknown` field as optional. */
const jsonValue = withJsonSchema(
  z.custom<unknown>((value) => value !== undefined, "must be a JSON value"),
  { description: "any JSON value" },
);

export const VariableSchema = z
  .object({
    name: z.string(),
    value: jsonValue,
    tags: z.array(z.string()),
    createdAt: epochMs,
    updatedAt: epochMs,
  })
  .meta({ id: "Variable" });
export type Variable = z.output<typeof VariableSchema>;
export const VariableListSchema = itemsOf(VariableSchema);
export type VariableList = z.output<typeof VariableListSchema>;

/** `PUT /api/variables/{name}`. */
export const VariableBodySchema = z.strictObject({
  value: jsonValue,
  tags: z.array(z.string().min(1).max(100)).describe("default: none (an update replaces them)").optional(),
});
export type VariableBody = z.output<typeof VariableBodySchema>;

/** What setting a variable takes: the name with the body. */
export type VariableInput = { name: string } & VariableBody;
