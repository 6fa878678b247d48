/** The outcomes an audit entry records (core/audit-chain.ts). Apart, so the dashboard's types can name them without the chain's hashing. */
export const AUDIT_OUTCOMES = ["success", "denied", "refused", "error"] as const;
/** success: 2xx/3xx; denied: 401/403; refused: any other 4xx; error: 5xx. */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
