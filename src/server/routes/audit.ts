/**
 * The audit log, read only: admins list it and verify its chain. No route writes, changes or
 * deletes a row (the server appends them itself: server/audit.ts).
 */
import type { FastifyInstance } from "fastify";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { AuditListQuerySchema, AuditPageSchema, AuditVerificationSchema, type AuditListQuery, type AuditPage, type AuditVerification } from "../../schemas/audit.ts";
import type { KyselyAuditLog } from "../../store/audit-log.ts";

const TAGS = ["audit"];

export function auditRoutes(app: FastifyInstance, audit: KyselyAuditLog): void {
  app.get<{ Querystring: AuditListQuery; Reply: AuditPage }>(
    "/api/audit",
    {
      schema: {
        tags: TAGS,
        summary: "List audit entries, newest first: who did what, when, from where, with what outcome (admin only)",
        querystring: jsonSchema(AuditListQuerySchema),
        response: { 200: jsonSchema(AuditPageSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => audit.list(request.query),
  );

  app.get<{ Reply: AuditVerification }>(
    "/api/audit/verify",
    {
      schema: {
        tags: TAGS,
        summary: "Verify the audit log's hash chain from its first row; names the first row edited, deleted or out of place (admin only)",
        response: { 200: jsonSchema(AuditVerificationSchema), ...errorResponses(401, 403) },
      },
    },
    async () => audit.verify(),
  );
}
