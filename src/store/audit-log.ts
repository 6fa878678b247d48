/**
 * The audit log over Kysely (SQLite and PostgreSQL): appended only, in chain order.
 *
 * Appending reads the chain's head and writes the next rows after it, so two appenders must not
 * both read the same head (they would fork the chain). SQLite's single writer (BEGIN IMMEDIATE,
 * store/kysely-store.ts) already serialises them; on PostgreSQL a transaction-scoped advisory
 * lock does, across every server on the database. Should anything bypass the lock, the primary
 * key on `seq` still refuses the second row with the same number: the chain cannot fork, the
 * late transaction fails instead.
 *
 * Outcomes: `appendAuditEntries` writes the entries as rows head+1…head+n in the caller's
 * transaction and returns them; nothing else in Baton updates or deletes these rows.
 */
import { sql, type Selectable } from "kysely";
import { AuditChainVerifier, chainAuditEntries, type AuditRow, type NewAuditEntry } from "../core/audit-chain.ts";
import type { AuditEntry, AuditListQuery, AuditPage, AuditVerification } from "../schemas/audit.ts";
import type { Dialect } from "./dialect.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { AuditLogTable } from "./schema.ts";
import type { Tx } from "./transitions/host.ts";

/** The advisory lock key of the audit chain on PostgreSQL ("BATONAUD" as a 64-bit integer, arbitrary but fixed). */
const AUDIT_LOCK_KEY = "4774260766003824964";

/** Rows per insert statement: 15 parameters each, well under both databases' limits. */
const CHUNK = 200;

/** Rows read per page while verifying. */
const VERIFY_PAGE = 1000;

/** Holds the chain for the rest of the caller's transaction (see the header). */
async function lockAuditChain(tx: Tx, dialect: Dialect): Promise<void> {
  if (dialect === "postgres") await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY}::bigint)`.execute(tx);
}

const toRow = (r: AuditRow): AuditLogTable => ({
  seq: r.seq,
  at: r.at,
  actor_kind: r.actorKind,
  actor_id: r.actorId,
  actor_name: r.actorName,
  actor_role: r.actorRole,
  action: r.action,
  targets: r.targets,
  status: r.status,
  outcome: r.outcome,
  client_ip: r.clientIp,
  request_id: r.requestId,
  detail: r.detail,
  prev_hash: r.prevHash,
  hash: r.hash,
});

/** A stored row in the chain's form (integers as numbers whatever the driver gave). */
export const auditRowFromRow = (r: Selectable<AuditLogTable>): AuditRow => ({
  seq: Number(r.seq),
  at: Number(r.at),
  actorKind: r.actor_kind,
  actorId: r.actor_id,
  actorName: r.actor_name,
  actorRole: r.actor_role,
  action: r.action,
  targets: r.targets,
  status: r.status === null ? null : Number(r.status),
  outcome: r.outcome,
  clientIp: r.client_ip,
  requestId: r.request_id,
  detail: r.detail,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** A row as the API answers it. A column edited into something unreadable is shown as it is, not thrown on: verify names the row. */
export function auditEntryOf(row: AuditRow): AuditEntry {
  const parse = (text: string | null): unknown => {
    if (text === null) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  };
  const targets = parse(row.targets);
  const detail = parse(row.detail);
  return {
    seq: row.seq,
    at: row.at,
    actor: { kind: row.actorKind, id: row.actorId, name: row.actorName, role: row.actorRole },
    action: row.action,
    targets: Array.isArray(targets) ? targets.map(String) : [String(targets)],
    status: row.status,
    outcome: row.outcome as AuditEntry["outcome"],
    clientIp: row.clientIp,
    requestId: row.requestId,
    detail: detail === null ? null : typeof detail === "object" && !Array.isArray(detail) ? (detail as Record<string, unknown>) : { value: detail },
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/** Appends `entries` to the chain in the caller's transaction (see the header); returns the rows written. */
export async function appendAuditEntries(tx: Tx, dialect: Dialect, entries: readonly NewAuditEntry[]): Promise<AuditRow[]> {
  if (entries.length === 0) return [];
  await lockAuditChain(tx, dialect);
  const head = await tx.selectFrom("audit_log").select(["seq", "hash"]).orderBy("seq", "desc").limit(1).executeTakeFirst();
  const rows = chainAuditEntries(head ? { seq: Number(head.seq), hash: head.hash } : null, entries);
  for (let i = 0; i < rows.length; i += CHUNK) await tx.insertInto("audit_log").values(rows.slice(i, i + CHUNK).map(toRow)).execute();
  return rows;
}

/** `%`, `_` and the escape character itself, escaped for a LIKE pattern with `escape '\'`. */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class KyselyAuditLog {
  constructor(private readonly base: KyselyStore) {}

  /** Appends in a transaction of its own. */
  async append(entries: readonly NewAuditEntry[]): Promise<AuditRow[]> {
    return this.base.transaction((tx) => appendAuditEntries(tx, this.base.dialect, entries));
  }

  /** Newest first, filtered; a page of `limit` and the seq to continue before. */
  async list(query: Partial<AuditListQuery> = {}): Promise<AuditPage> {
    const limit = query.limit ?? 100;
    let q = this.base.db.selectFrom("audit_log").selectAll();
    if (query.since !== undefined) q = q.where("at", ">=", query.since);
    if (query.until !== undefined) q = q.where("at", "<", query.until);
    if (query.before !== undefined) q = q.where("seq", "<", query.before);
    if (query.outcome !== undefined) q = q.where("outcome", "=", query.outcome);
    if (query.actor !== undefined) {
      const actor = query.actor;
      q = q.where((eb) => eb.or([eb("actor_id", "=", actor), eb("actor_name", "=", actor)]));
    }
    if (query.action !== undefined) q = q.where(sql<boolean>`action like ${`%${likeEscaped(query.action)}%`} escape '\\'`);
    // Targets are a JSON array of strings: an id matches as its JSON string, quotes included.
    if (query.target !== undefined) q = q.where(sql<boolean>`targets like ${`%${likeEscaped(JSON.stringify(query.target))}%`} escape '\\'`);
    const rows = await q.orderBy("seq", "desc").limit(limit + 1).execute();
    const items = rows.slice(0, limit).map((r) => auditEntryOf(auditRowFromRow(r)));
    return { items, nextBefore: rows.length > limit ? items.at(-1)!.seq : null };
  }

  /** Every entry that names `id` among its targets, oldest first (a run's report). */
  async entriesTouching(id: string): Promise<AuditEntry[]> {
    const rows = await this.base.db
      .selectFrom("audit_log")
      .selectAll()
      .where(sql<boolean>`targets like ${`%${likeEscaped(JSON.stringify(id))}%`} escape '\\'`)
      .orderBy("seq", "asc")
      .execute();
    return rows.map((r) => auditEntryOf(auditRowFromRow(r)));
  }

  /**
   * Walks the chain in order from its first row (through `throughSeq`, else to its end), a page
   * at a time; names the first row that does not fit.
   */
  async verify(options: { throughSeq?: number } = {}): Promise<AuditVerification> {
    const verifier = new AuditChainVerifier();
    let after = 0;
    for (;;) {
      let query = this.base.db.selectFrom("audit_log").selectAll().where("seq", ">", after);
      if (options.throughSeq !== undefined) query = query.where("seq", "<=", options.throughSeq);
      const page = (await query.orderBy("seq", "asc").limit(VERIFY_PAGE).execute()).map(auditRowFromRow);
      const broken = verifier.check(page);
      if (broken) return { ok: false, checked: verifier.checked, head: verifier.head, broken };
      if (page.length < VERIFY_PAGE) return { ok: true, checked: verifier.checked, head: verifier.head, broken: null };
      after = page.at(-1)!.seq;
    }
  }
}
