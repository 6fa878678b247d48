/** `GET /api/usage`: compute, cost, waste and failFast's savings per day and group (services/usage.ts). */
import type { FastifyInstance } from "fastify";
import { KyselyStore } from "../../store/kysely-store.ts";
import type { OrchestrationStore, Store } from "../../store/types.ts";
import { readUsage } from "../../store/usage-queries.ts";
import { UsageQuerySchema, UsageReportSchema, type UsageQuery, type UsageReport } from "../../schemas/usage.ts";
import { parseSince, pricesByPool, usageReport } from "../../services/usage.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";

export function usageRoutes(app: FastifyInstance, store: Store, orchestration: OrchestrationStore): void {
  app.get<{ Querystring: UsageQuery; Reply: UsageReport }>(
    "/api/usage",
    {
      schema: {
        tags: ["stats"],
        summary: "Usage of the runs that ended in a window, per UTC day and per flow, deployment, pool or tag: runs by final state, compute hours, estimated cost at the pools' prices, waste (failed and crashed runs, retried attempts) and failFast's savings (an estimate)",
        querystring: jsonSchema(UsageQuerySchema),
        response: { 200: jsonSchema(UsageReportSchema), ...errorResponses(400, 501) },
      },
    },
    async (request) => {
      if (!(store instanceof KyselyStore)) throw new ApiError(501, "NOT_IMPLEMENTED", "the usage report needs the server's own database");
      const now = Date.now();
      let since: number;
      try {
        since = parseSince(request.query.since, now, "querystring.since");
      } catch (error) {
        throw new ApiError(400, "VALIDATION_ERROR", (error as Error).message, { field: "querystring.since" });
      }
      const source = { readUsage: (window: Parameters<typeof readUsage>[2]) => readUsage(store.db, store.dialect, window) };
      return usageReport(source, { since, until: now, groupBy: request.query.group_by }, pricesByPool(await orchestration.listWorkPools()));
    },
  );
}
