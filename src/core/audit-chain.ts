/**
 * The audit log's hash chain. Each row carries the hash of the row before it and its own hash,
 * sha256 over a canonical serialisation of its stored columns and that previous hash. Editing a
 * row changes its hash (which no longer matches the stored one); deleting a row leaves a gap in
 * `seq` and a `prevHash` that names a row that is not there; re-hashing an edited row breaks the
 * next row's link. So a verifier walking the rows in order names the first row that does not
 * fit. (Deleting the newest rows leaves a shorter chain that still verifies: keep a copy of the
 * latest hash elsewhere, e.g. `baton audit verify --json` in a backup, to catch that.)
 *
 * Pure: no I/O. The store appends and reads rows; the server and CLI call `verifyAuditChain`.
 */
import { createHash } from "node:crypto";
import type { AuditOutcome } from "./audit-outcomes.ts";

export { AUDIT_OUTCOMES, type AuditOutcome } from "./audit-outcomes.ts";

/** The previous hash of the first row. */
export const GENESIS_HASH = "0".repeat(64);

/** Who did it: a person's key or account, or Baton itself on behalf of a schedule or an automation. */
export interface AuditActor {
  /** "anonymous", "static-key", "api-key", "account" (request.principal), or "schedule", "automation". */
  kind: string;
  id: string | null;
  name: string;
  /** The caller's role; null for a schedule or an automation. */
  role: string | null;
}

/** One thing that happened, before it is numbered and chained. */
export interface NewAuditEntry {
  at: number;
  actor: AuditActor;
  /** What was done: `METHOD /api/route/:param` for an API call, `sign-in`, `sign-out`, `flow-run.scheduled`, `flow-run.automation`. */
  action: string;
  /** The ids the action touched: path parameters, ids named in the body, the id of what it created. */
  targets: readonly string[];
  /** The HTTP status (API calls), or null. */
  status: number | null;
  outcome: AuditOutcome;
  clientIp: string | null;
  requestId: string | null;
  /** More about it (the automation's triggering event, the schedule's slot), or null. */
  detail: Record<string, unknown> | null;
}

export function outcomeOfStatus(status: number): AuditOutcome {
  if (status >= 500) return "error";
  if (status === 401 || status === 403) return "denied";
  if (status >= 400) return "refused";
  return "success";
}

/**
 * A row as stored: every column in the form it has in the database (`targets` and `detail` as
 * their JSON text), so that hashing it needs no re-serialisation that could drift.
 */
export interface AuditRow {
  seq: number;
  at: number;
  actorKind: string;
  actorId: string | null;
  actorName: string;
  actorRole: string | null;
  action: string;
  /** JSON array of strings. */
  targets: string;
  status: number | null;
  outcome: string;
  clientIp: string | null;
  requestId: string | null;
  /** JSON object text, or null. */
  detail: string | null;
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every depth and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value ?? null);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The hash a row must carry: sha256 (hex) of the canonical JSON of all its columns but `hash`. */
export function auditRowHash(row: Omit<AuditRow, "hash">): string {
  const { seq, at, actorKind, actorId, actorName, actorRole, action, targets, status, outcome, clientIp, requestId, detail, prevHash } = row;
  const canonical = canonicalJson({ seq, at, actorKind, actorId, actorName, actorRole, action, targets, status, outcome, clientIp, requestId, detail, prevHash });
  return createHash("sha256").update(canonical).digest("hex");
}

/** The rows for `entries` after the row `last` (null: the chain is empty), numbered and chained. */
export function chainAuditEntries(last: { seq: number; hash: string } | null, entries: readonly NewAuditEntry[]): AuditRow[] {
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  return entries.map((entry) => {
    seq += 1;
    const unhashed: Omit<AuditRow, "hash"> = {
      seq,
      at: entry.at,
      actorKind: entry.actor.kind,
      actorId: entry.actor.id,
      actorName: entry.actor.name,
      actorRole: entry.actor.role,
      action: entry.action,
      targets: JSON.stringify([...entry.targets]),
      status: entry.status,
      outcome: entry.outcome,
      clientIp: entry.clientIp,
      requestId: entry.requestId,
      detail: entry.detail === null ? null : canonicalJson(entry.detail),
      prevHash,
    };
    const row = { ...unhashed, hash: auditRowHash(unhashed) };
    prevHash = row.hash;
    return row;
  });
}

/** Where a chain stops verifying, and why. */
export interface AuditBreak {
  /** The first row that does not fit (for a deleted row: the row after the gap). */
  seq: number;
  reason: string;
}

/**
 * Checks rows in `seq` order, page by page: feed each page to `check`, which returns the first
 * break or null; the verifier remembers the last row between pages.
 */
export class AuditChainVerifier {
  private last: { seq: number; hash: string } | null = null;
  checked = 0;

  check(rows: readonly AuditRow[]): AuditBreak | null {
    for (const row of rows) {
      const expectedSeq = (this.last?.seq ?? 0) + 1;
      const expectedPrev = this.last?.hash ?? GENESIS_HASH;
      if (row.seq !== expectedSeq) return { seq: row.seq, reason: `row ${expectedSeq}${row.seq > expectedSeq + 1 ? `–${row.seq - 1}` : ""} is missing (deleted?): the chain jumps from ${expectedSeq - 1} to ${row.seq}` };
      if (row.prevHash !== expectedPrev) return { seq: row.seq, reason: `its previous hash ${row.prevHash.slice(0, 12)}… is not the hash of row ${expectedSeq - 1} (${expectedPrev.slice(0, 12)}…): row ${expectedSeq - 1} was changed, or this row was` };
      const { hash, ...unhashed } = row;
      const actual = auditRowHash(unhashed);
      if (actual !== hash) return { seq: row.seq, reason: `its content does not match its hash (stored ${hash.slice(0, 12)}…, computed ${actual.slice(0, 12)}…): the row was edited` };
      this.last = { seq: row.seq, hash };
      this.checked += 1;
    }
    return null;
  }

  /** The last row that verified (its hash is the chain's head), or null. */
  get head(): { seq: number; hash: string } | null {
    return this.last;
  }
}

/** Verifies a whole chain held in memory. */
export function verifyAuditChain(rows: readonly AuditRow[]): { ok: boolean; checked: number; broken: AuditBreak | null } {
  const verifier = new AuditChainVerifier();
  const broken = verifier.check(rows);
  return { ok: broken === null, checked: verifier.checked, broken };
}
