/** The audit log: who did what, appended for every mutating call, sign-in and automatic run (core/audit-chain.ts). */
import { z } from "zod";
import { AUDIT_OUTCOMES } from "../core/audit-outcomes.ts";
import { epochMs } from "./fields.ts";

export const AuditActorSchema = z.object({
  kind: z.string().describe("anonymous, static-key, api-key, account (a caller), or schedule, automation (Baton on their behalf)"),
  id: z.string().nullable(),
  name: z.string(),
  role: z.string().nullable().describe("the caller's role; null for a schedule or an automation"),
});

export const AuditEntrySchema = z
  .object({
    seq: z.int().min(1).describe("the row's place in the chain, from 1"),
    at: epochMs,
    actor: AuditActorSchema,
    action: z.string().describe("METHOD /api/route for an API call; sign-in, sign-out, flow-run.scheduled, flow-run.automation"),
    targets: z.array(z.string()).describe("ids the action touched: path parameters, ids in the body, the id of what it created"),
    status: z.int().nullable().describe("the HTTP status of an API call"),
    outcome: z.enum(AUDIT_OUTCOMES),
    clientIp: z.string().nullable(),
    requestId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
    prevHash: z.string().describe("the hash of the row before (64 zeros for the first)"),
    hash: z.string().describe("sha256 of this row's canonical serialisation with prevHash"),
  })
  .meta({ id: "AuditEntry" });
export type AuditEntry = z.output<typeof AuditEntrySchema>;

/** `GET /api/audit`. Newest first; `before` pages back. */
export const AuditListQuerySchema = z.strictObject({
  since: epochMs.describe("at or after (epoch ms)").optional(),
  until: epochMs.describe("before (epoch ms)").optional(),
  actor: z.string().min(1).max(200).describe("the actor's id or name").optional(),
  action: z.string().min(1).max(300).describe("a part of the action, e.g. sign-in or /api/deployments").optional(),
  target: z.string().min(1).max(200).describe("an id the action touched (a flow run's, a deployment's name)").optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  before: z.int().min(1).describe("only rows with a smaller seq (the nextBefore of the previous page)").optional(),
  limit: z.int().min(1).max(1000).default(100),
});
export type AuditListQuery = z.output<typeof AuditListQuerySchema>;

export const AuditPageSchema = z.object({
  items: z.array(AuditEntrySchema),
  nextBefore: z.int().nullable().describe("pass as `before` for the next page; null on the last"),
});
export type AuditPage = z.output<typeof AuditPageSchema>;

/** `GET /api/audit/verify`. */
export const AuditVerificationSchema = z
  .object({
    ok: z.boolean(),
    checked: z.int().min(0).describe("rows that verified"),
    head: z.object({ seq: z.int(), hash: z.string() }).nullable().describe("the last row that verified"),
    broken: z.object({ seq: z.int(), reason: z.string() }).nullable().describe("the first row that does not fit"),
  })
  .meta({ id: "AuditVerification" });
export type AuditVerification = z.output<typeof AuditVerificationSchema>;
