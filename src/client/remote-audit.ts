/** The audit log and run reports over the Baton API (remote mode; admin keys). */
import { AuditPageSchema, AuditVerificationSchema, type AuditListQuery, type AuditPage, type AuditVerification } from "../schemas/audit.ts";
import { RunReportSchema, type RunReport } from "../schemas/run-report.ts";
import type { ApiClient } from "./api-client.ts";

/** What `baton audit` and `baton flow-run report` read, on the database or through the server. */
export interface AuditReader {
  list(query: Partial<AuditListQuery>): Promise<AuditPage>;
  verify(): Promise<AuditVerification>;
  report(flowRunId: string): Promise<RunReport>;
}

export class RemoteAudit implements AuditReader {
  constructor(private readonly api: ApiClient) {}

  list(query: Partial<AuditListQuery>): Promise<AuditPage> {
    const params = new URLSearchParams(Object.entries(query).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
    return this.api.request("GET", `/api/audit${params.size ? `?${params}` : ""}`, undefined, AuditPageSchema);
  }

  verify(): Promise<AuditVerification> {
    return this.api.request("GET", "/api/audit/verify", undefined, AuditVerificationSchema);
  }

  report(flowRunId: string): Promise<RunReport> {
    return this.api.request("GET", `/api/flow-runs/${encodeURIComponent(flowRunId)}/report?format=json`, undefined, RunReportSchema);
  }
}
