/**
 * A flow run's compliance report (services/run-report.ts) as JSON, Markdown or PDF. Admin keys
 * only: it holds the audit entries of the run. A GET: reading a report is not itself audited.
 */
import type { FastifyInstance } from "fastify";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { RunReportQuerySchema, RunReportSchema, type RunReportQuery } from "../../schemas/run-report.ts";
import { buildRunReport, type RunReportSources } from "../../services/run-report.ts";
import { renderRunReport } from "../../services/run-report-render.ts";
import type { OrchestrationStore, Store } from "../../store/types.ts";
import type { KyselyAuditLog } from "../../store/audit-log.ts";

export function runReportRoutes(app: FastifyInstance, deps: { store: Store; orchestration: OrchestrationStore; audit: KyselyAuditLog }): void {
  const sources: RunReportSources = { runs: deps.store, deployments: deps.orchestration, audit: deps.audit };
  app.get<{ Params: IdParams; Querystring: RunReportQuery }>(
    "/api/flow-runs/:id/report",
    {
      schema: {
        tags: ["flow runs"],
        summary: "A flow run's compliance report: who or what started it, source and lock-file hashes, parameters, tasks' input and output hashes, timings, state history, audit entries and whether the audit chain verifies (admin only)",
        params: jsonSchema(IdParamsSchema),
        querystring: jsonSchema(RunReportQuerySchema),
        response: {
          200: {
            description: "the report; the same run gives the same bytes",
            content: {
              "application/json": { schema: jsonSchema(RunReportSchema) },
              "text/markdown": { schema: { type: "string" } },
              "application/pdf": { schema: { type: "string", format: "binary" } },
            },
          },
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const rendered = await renderRunReport(await buildRunReport(sources, request.params.id), request.query.format);
      return reply.type(rendered.contentType).header("content-disposition", `attachment; filename="${rendered.fileName}"`).send(rendered.body);
    },
  );
}
