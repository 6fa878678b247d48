/**
 * `POST /api/flow-runs/{id}/rerun`: a new run of a worker's run on the same parameters and the
 * asset versions it read (services/rerun-flow-run.ts); a worker of its pool runs it.
 */
import type { FastifyInstance } from "fastify";
import type { AssetViews } from "../../store/asset-store.ts";
import type { OrchestrationStore, RunStore } from "../../store/types.ts";
import type { RefStores } from "../../services/config-refs.ts";
import { rerunFlowRun } from "../../services/rerun-flow-run.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { FlowRunRerunSchema } from "../../schemas/flow-run.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";

export function flowRunRerunRoutes(app: FastifyInstance, stores: { runs: RunStore; assets: AssetViews; deployments: OrchestrationStore; refs: RefStores }): void {
  app.post<{ Params: IdParams }>(
    "/api/flow-runs/:id/rerun",
    {
      schema: {
        tags: ["flow runs"],
        summary:
          "Create a new run of a work pool's run on what it ran on: its parameters, and the asset versions it read (its task runs' unpinned reads resolve to them); a worker runs it. " +
          "A run without a work pool is a 409: re-run it with `baton flow-run rerun <id>` where the flow's code is; a child run is a 409: re-run its parent.",
        params: jsonSchema(IdParamsSchema),
        response: { 201: jsonSchema(FlowRunRerunSchema), ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await rerunFlowRun(stores, request.params.id)),
  );
}
