/** Run retention on demand: `POST /api/flow-runs/prune` (admins; audited as every mutating call). */
import type { FastifyInstance } from "fastify";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { FlowRunPruneAnswerSchema, FlowRunPruneSchema, type FlowRunPrune, type FlowRunPruneAnswer } from "../../schemas/flow-run-prune.ts";
import type { FlowRunPruner } from "../../services/prune-flow-runs.ts";

export function runRetentionRoutes(app: FastifyInstance, pruner: FlowRunPruner): void {
  app.post<{ Body: FlowRunPrune; Reply: FlowRunPruneAnswer }>(
    "/api/flow-runs/prune",
    {
      schema: {
        tags: ["flow runs"],
        summary: "Delete flow runs in a final state that ended before a cut-off, with their task runs, states, logs, artifacts and inputs, in short transactions; child flow runs stay and lose their parent link",
        body: jsonSchema(FlowRunPruneSchema),
        response: { 200: jsonSchema(FlowRunPruneAnswerSchema), ...errorResponses(400) },
      },
    },
    async (request) => {
      try {
        return await pruner.prune(request.body);
      } catch (error) {
        if (error instanceof TypeError) throw new ApiError(400, "VALIDATION_ERROR", `body.${error.message}`);
        throw error;
      }
    },
  );
}
