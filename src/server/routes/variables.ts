/**
 * Variables: named JSON values with tags. Every key role reads them; admins and worker keys set
 * them (runs call `setVariable`); only admins delete. Events carry names and tags, not values.
 */
import type { FastifyInstance } from "fastify";
import type { VariableStore } from "../../store/value-types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { NameParamsSchema, type NameParams } from "../../schemas/fields.ts";
import { VariableBodySchema, VariableListSchema, VariableSchema, type Variable, type VariableBody, type VariableList } from "../../schemas/variable.ts";
import { compileVariableInput } from "../../services/variables.ts";

const nameParams = jsonSchema(NameParamsSchema);
const variableAnswer = jsonSchema(VariableSchema);

export function variableRoutes(app: FastifyInstance, variables: VariableStore): void {
  app.get<{ Reply: VariableList }>("/api/variables", { schema: { tags: ["variables"], summary: "List variables with their values", response: { 200: jsonSchema(VariableListSchema) } } }, async () => ({
    items: await variables.listVariables(),
  }));

  app.get<{ Params: NameParams; Reply: Variable }>(
    "/api/variables/:name",
    { schema: { tags: ["variables"], summary: "Get a variable", params: nameParams, response: { 200: variableAnswer, ...errorResponses(404) } } },
    async (request) => {
      const found = await variables.getVariable(request.params.name);
      if (!found) throw notFound("variable", request.params.name);
      return found;
    },
  );

  app.put<{ Params: NameParams; Body: VariableBody; Reply: Variable }>(
    "/api/variables/:name",
    {
      schema: {
        tags: ["variables"],
        summary: "Create or replace a variable (any JSON value; usable as {{ variables.name }} in deployment parameters and job variables)",
        params: nameParams,
        body: jsonSchema(VariableBodySchema),
        response: { 200: variableAnswer, 201: variableAnswer, ...errorResponses(400) },
      },
    },
    // 201 when it is new, 200 when it replaced one (as every create-or-update of the API).
    async (request, reply) => {
      const existed = await variables.getVariable(request.params.name);
      try {
        return reply.status(existed ? 200 : 201).send(await variables.setVariable(compileVariableInput({ name: request.params.name, value: request.body.value, tags: request.body.tags })));
      } catch (error) {
        if (error instanceof TypeError) throw new ApiError(400, "VALIDATION_ERROR", error.message.startsWith("name") ? `params.${error.message}` : `body.${error.message}`);
        throw error;
      }
    },
  );

  app.delete<{ Params: NameParams }>(
    "/api/variables/:name",
    { schema: { tags: ["variables"], summary: "Delete a variable", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await variables.deleteVariable(request.params.name))) throw notFound("variable", request.params.name);
      return reply.status(204).send();
    },
  );
}
