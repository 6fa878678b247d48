/**
 * Result blobs in Baton's database (BATON_RESULTS_URL=db; table `result_blobs` of 0024), and the
 * collection of blobs no row points at any more, for every kind of blob store.
 *
 * Collection runs after each pass of run retention. A blob is kept while a row points at it: a
 * result row that a flow run, a task run or an unexpired cache entry names, a model version, or a result
 * row younger than the grace period (a flow's result row is committed a moment before the run
 * that names it). It only looks at blobs stored or renewed before the grace period, and each
 * store deletes a blob only if it is still that old: a writer stores (or renews) a blob before
 * it commits the row that points at it, so a blob being written now is never taken.
 */
import type { Kysely } from "kysely";
import { ResultStorageError } from "../core/errors.ts";
import type { CollectableBlobStore } from "../core/result-storage.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { Database } from "./schema.ts";

/** Bytes per row of `result_blobs`. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;
/** How long a blob is left alone after it was stored or renewed (ms), by default. */
export const DEFAULT_BLOB_GRACE_MS = 3600_000;
/** Blobs one collection pass looks at. */
const COLLECT_BATCH = 500;

export class DatabaseBlobStore implements CollectableBlobStore {
  readonly description: string;

  constructor(private readonly base: KyselyStore) {
    this.description = `db (${base.location})`;
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    try {
      await this.base.transaction(
        async (tx) => {
          // Renewed if already stored; a collection deleting it at this moment holds its row
          // (PostgreSQL), and then this updates nothing and writes it again.
          const renewed = await tx.updateTable("result_blobs").set({ created_at: Date.now() }).where("sha256", "=", sha256).where("chunk", "=", 0).executeTakeFirst();
          if (Number(renewed.numUpdatedRows) > 0) return;
          const now = Date.now();
          for (let chunk = 0, at = 0; at < bytes.length || chunk === 0; chunk++, at += BLOB_CHUNK_BYTES)
            await tx
              .insertInto("result_blobs")
              .values({ sha256, chunk, bytes: bytes.subarray(at, at + BLOB_CHUNK_BYTES), created_at: now })
              .onConflict((oc) => oc.columns(["sha256", "chunk"]).doNothing())
              .execute();
        },
        { rerunnable: true },
      );
    } catch (error) {
      throw new ResultStorageError(this.description, `writing blob ${sha256} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(sha256: string): Promise<Buffer | null> {
    const rows = await this.base.db.selectFrom("result_blobs").select(["chunk", "bytes"]).where("sha256", "=", sha256).orderBy("chunk").execute();
    if (!rows.length) return null;
    return Buffer.concat(rows.map((r) => Buffer.from(r.bytes)));
  }

  async listOlderThan(before: number, limit: number): Promise<string[]> {
    const rows = await this.base.db.selectFrom("result_blobs").select("sha256").where("chunk", "=", 0).where("created_at", "<", before).limit(limit).execute();
    return rows.map((r) => r.sha256);
  }

  async deleteOlderThan(sha256s: readonly string[], before: number): Promise<number> {
    if (!sha256s.length) return 0;
    return this.base.transaction(
      async (tx) => {
        // Chunk 0 first, still old: on PostgreSQL this locks it, and a writer renewing it
        // concurrently is either before (its new time fails the test) or waits and writes anew.
        const gone = await tx.deleteFrom("result_blobs").where("chunk", "=", 0).where("sha256", "in", [...sha256s]).where("created_at", "<", before).returning("sha256").execute();
        if (!gone.length) return 0;
        await tx
          .deleteFrom("result_blobs")
          .where("sha256", "in", gone.map((r) => r.sha256))
          .execute();
        return gone.length;
      },
      { rerunnable: true },
    );
  }
}

/**
 * Of `sha256s`, those a row still points at, and the ids of the result rows that point at the
 * others and that nothing names (see the module's header). Set-based: the run tables have no
 * index on `result_id` (it would cost every task run's write), so each is read once per batch.
 */
async function references(db: Kysely<Database>, sha256s: readonly string[], youngerThan: number, now: number): Promise<{ kept: Set<string>; orphanRows: string[] }> {
  const names = sha256s.map((s) => `${s}.json`);
  const rows = await db.selectFrom("results").select(["id", "path", "created_at"]).where("path", "in", names).execute();
  const ids = rows.map((r) => r.id);
  const named = new Set<string>();
  for (const part of chunked(ids)) {
    for (const table of ["task_runs", "flow_runs"] as const) for (const r of await db.selectFrom(table).select("result_id").where("result_id", "in", part).execute()) if (r.result_id) named.add(r.result_id);
    // An expired cache entry is never a hit again: it keeps nothing.
    const cached = await db.selectFrom("cache_entries").select("result_id").where("result_id", "in", part).where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)])).execute();
    for (const r of cached) named.add(r.result_id);
  }
  const kept = new Set<string>();
  for (const r of rows) if (named.has(r.id) || Number(r.created_at) >= youngerThan) kept.add(r.path!.slice(0, 64));
  for (const r of await db.selectFrom("model_versions").select("path").where("path", "in", names).execute()) kept.add(r.path!.slice(0, 64));
  const orphanRows = rows.filter((r) => !kept.has(r.path!.slice(0, 64))).map((r) => r.id);
  return { kept, orphanRows };
}

function chunked<T>(items: readonly T[], size = 400): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Deletes the blobs of `blobs` older than the grace period that no row points at any more, with
 * the result rows that nothing names and that pointed at them. Returns how many blobs went.
 */
export async function collectResultBlobs(base: KyselyStore, blobs: CollectableBlobStore, options: { now?: number; graceMs?: number } = {}): Promise<number> {
  const now = options.now ?? Date.now();
  const before = now - (options.graceMs ?? DEFAULT_BLOB_GRACE_MS);
  let deleted = 0;
  const seen = new Set<string>();
  for (;;) {
    const candidates = (await blobs.listOlderThan(before, COLLECT_BATCH + seen.size)).filter((s) => !seen.has(s)).slice(0, COLLECT_BATCH);
    if (!candidates.length) return deleted;
    candidates.forEach((s) => seen.add(s));
    const { kept, orphanRows } = await references(base.db, candidates, before, now);
    const doomed = candidates.filter((s) => !kept.has(s));
    if (!doomed.length) continue;
    // The orphan rows first: a blob whose deletion then fails is found again next time.
    for (const part of chunked(orphanRows)) await base.db.deleteFrom("results").where("id", "in", part).execute();
    deleted += await blobs.deleteOlderThan(doomed, before);
  }
}
