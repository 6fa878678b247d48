/**
 * The artifacts' reads the server alone needs (the dashboard's Artifacts page, image bytes),
 * over Kysely on SQLite and PostgreSQL. The latest artifact of a key is its newest by
 * (created_at, id): the one no other artifact of the key follows — a `NOT EXISTS` both
 * databases answer from the (key, created_at, id) index. A key's history pages behind an
 * opaque cursor of the last (created_at, id) shown.
 */
import { InvalidCursorError } from "../core/errors.ts";
import type { KyselyStore } from "./kysely-store.ts";
import { ARTIFACT_COLUMNS, artifactFromRow } from "./rows.ts";
import type { Artifact, Page } from "./types.ts";

/** An artifact with the run it belongs to, for lists across runs. */
export interface ArtifactWithRun extends Artifact {
  flowRunName: string | null;
  flowName: string | null;
}

export interface ArtifactViews {
  getArtifact(id: string): Promise<Artifact | undefined>;
  /** The newest artifact of each key (or of `key`), newest first. */
  latestArtifacts(options: { key?: string; limit: number }): Promise<ArtifactWithRun[]>;
  /** A key's artifacts across runs, newest first, a page at a time. */
  artifactHistory(key: string, options: { cursor?: string; limit: number }): Promise<Page<ArtifactWithRun>>;
  /** An image artifact's bytes and type; undefined when it has none (not an image, or an image by URL). */
  artifactContent(id: string): Promise<{ mimeType: string; bytes: Buffer } | undefined>;
}

const encodeCursor = (a: Artifact) => Buffer.from(`${a.createdAt}:${a.id}`).toString("base64url");

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const match = /^(\d{1,15}):(.{1,100})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new InvalidCursorError(cursor);
  return { createdAt: Number(match[1]), id: match[2]! };
}

export class KyselyArtifactViews implements ArtifactViews {
  constructor(private readonly base: KyselyStore) {}

  /** Artifacts with their run's and flow's names. */
  private withRuns() {
    return this.base.db
      .selectFrom("artifacts as a")
      .leftJoin("flow_runs as r", "r.id", "a.flow_run_id")
      .leftJoin("flows as f", "f.id", "r.flow_id")
      .select(ARTIFACT_COLUMNS.map((c) => `a.${c}` as const))
      .select(["r.name as flow_run_name", "f.name as flow_name"]);
  }

  async getArtifact(id: string): Promise<Artifact | undefined> {
    const row = await this.base.db.selectFrom("artifacts").select(ARTIFACT_COLUMNS).where("id", "=", id).executeTakeFirst();
    return row && artifactFromRow(row);
  }

  async latestArtifacts(options: { key?: string; limit: number }): Promise<ArtifactWithRun[]> {
    let query = this.withRuns()
      .where("a.key", "is not", null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("artifacts as b")
              .select("b.id")
              .whereRef("b.key", "=", "a.key")
              .where((b) => b.or([b("b.created_at", ">", b.ref("a.created_at")), b.and([b("b.created_at", "=", b.ref("a.created_at")), b("b.id", ">", b.ref("a.id"))])])),
          ),
        ),
      );
    if (options.key) query = query.where("a.key", "=", options.key);
    const rows = await query.orderBy("a.created_at", "desc").orderBy("a.id", "desc").limit(options.limit).execute();
    return rows.map((r) => ({ ...artifactFromRow(r), flowRunName: r.flow_run_name, flowName: r.flow_name }));
  }

  async artifactHistory(key: string, options: { cursor?: string; limit: number }): Promise<Page<ArtifactWithRun>> {
    let query = this.withRuns().where("a.key", "=", key);
    if (options.cursor) {
      const after = decodeCursor(options.cursor);
      query = query.where((eb) => eb.or([eb("a.created_at", "<", after.createdAt), eb.and([eb("a.created_at", "=", after.createdAt), eb("a.id", "<", after.id)])]));
    }
    const rows = await query.orderBy("a.created_at", "desc").orderBy("a.id", "desc").limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((r) => ({ ...artifactFromRow(r), flowRunName: r.flow_run_name, flowName: r.flow_name }));
    return { items, nextCursor: rows.length > options.limit ? encodeCursor(items[items.length - 1]!) : null };
  }

  async artifactContent(id: string): Promise<{ mimeType: string; bytes: Buffer } | undefined> {
    const row = await this.base.db.selectFrom("artifacts").select(["type", "data", "content"]).where("id", "=", id).executeTakeFirst();
    if (!row || row.type !== "image" || !row.content) return undefined;
    const { mimeType } = JSON.parse(row.data) as { mimeType: string };
    return { mimeType, bytes: Buffer.from(row.content) };
  }
}
