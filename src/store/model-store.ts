/**
 * The model registry over Kysely, on SQLite and PostgreSQL. Every write is one transaction that
 * first locks the model's row in `models` (SQLite: its single writer already does), so versions
 * are numbered N+1 without gaps or collisions and alias moves of one model happen one at a time;
 * each write stores its event(s) (core/models.ts MODEL_EVENTS) and an audit entry in the same
 * transaction.
 *
 * Outcomes: `registerModelVersion` → the new version; `moveModelAlias` → { from, to }, or null
 * when the version does not exist; `refuseModelPromotion` records the refusal; `rollbackModelAlias`
 * → { from, to }, or a sentence saying why there is nothing to roll back to.
 */
import type { Selectable } from "kysely";
import type { NewAuditEntry } from "../core/audit-chain.ts";
import { newId } from "../core/ids.ts";
import { MODEL_EVENTS, modelEvent, type ModelActor, type ModelAliasMove, type ModelMoveKind, type ModelVersionInfo } from "../core/models.ts";
import { appendAuditEntries } from "./audit-log.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { ModelAliasMovesTable, ModelVersionsTable } from "./schema.ts";
import { appendEvents } from "./transitions/event-log.ts";
import { writeMaterialization } from "./asset-writes.ts";
import type { Tx } from "./transitions/host.ts";

/** A version's stored value: a result record's fields (engine/result-store.ts decodes it). */
export interface StoredModelValue {
  serializer: string;
  value: string | null;
  /** A content-addressed file name in the results directory of the process that registered it. */
  path: string | null;
  size: number;
  sha256: string;
}

export interface NewModelVersion {
  name: string;
  source: "value" | "path";
  sourcePath: string | null;
  stored: StoredModelValue;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  signature: unknown;
  description: string | null;
  flowRunId: string | null;
  taskRunId: string | null;
  experiment: string | null;
  actor: ModelActor;
}

export interface ModelSummary {
  name: string;
  latestVersion: number;
  createdAt: number;
  updatedAt: number;
  /** Alias → version. */
  aliases: Record<string, number>;
}

export interface ModelDetail extends ModelSummary {
  /** Newest first. */
  versions: ModelVersionInfo[];
  /** Alias moves and refused promotions, newest first. */
  moves: ModelAliasMove[];
}

/** Who asks for a move, and on behalf of which run. */
export interface MoveContext {
  actor: ModelActor;
  flowRunId: string | null;
}

export interface ModelStore {
  registerModelVersion(input: NewModelVersion): Promise<ModelVersionInfo>;
  listModels(): Promise<ModelSummary[]>;
  getModel(name: string): Promise<ModelDetail | undefined>;
  getModelVersion(name: string, version: number): Promise<ModelVersionInfo | undefined>;
  /** The version an alias points to (one indexed read: what serving polls). */
  aliasVersion(name: string, alias: string): Promise<number | undefined>;
  modelValue(name: string, version: number): Promise<StoredModelValue | undefined>;
  moveModelAlias(name: string, alias: string, version: number, context: MoveContext & { reason?: string | null }): Promise<{ from: number | null; to: number } | null>;
  refuseModelPromotion(name: string, alias: string, version: number, reason: string, context: MoveContext): Promise<void>;
  rollbackModelAlias(name: string, alias: string, context: MoveContext): Promise<{ from: number; to: number } | { nothing: string }>;
}

const json = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

function versionOf(r: Selectable<ModelVersionsTable>, aliases: string[]): ModelVersionInfo {
  return {
    name: r.name,
    version: Number(r.version),
    source: r.source === "path" ? "path" : "value",
    sourcePath: r.source_path,
    size: Number(r.size),
    sha256: r.sha256,
    metrics: json(r.metrics) as Record<string, number>,
    params: json(r.params) as Record<string, unknown>,
    signature: json(r.signature),
    description: r.description,
    flowRunId: r.flow_run_id,
    taskRunId: r.task_run_id,
    experiment: r.experiment,
    createdAt: Number(r.created_at),
    aliases,
  };
}

function moveOf(r: Selectable<ModelAliasMovesTable>): ModelAliasMove {
  return {
    id: r.id,
    alias: r.alias,
    kind: r.kind as ModelMoveKind,
    from: r.from_version === null ? null : Number(r.from_version),
    to: r.to_version === null ? null : Number(r.to_version),
    reason: r.reason,
    undone: Number(r.undone) === 1,
    actor: json(r.actor) as ModelActor,
    flowRunId: r.flow_run_id,
    at: Number(r.at),
  };
}

/** The audit entry of a registry write (the actor is whoever asked: a run, the CLI, a person, an automation). */
function auditEntry(action: string, name: string, context: MoveContext, detail: Record<string, unknown>, outcome: "success" | "refused", at: number): NewAuditEntry {
  return {
    at,
    actor: { kind: context.actor.kind, id: context.actor.id, name: context.actor.name ?? context.actor.kind, role: null },
    action,
    targets: [`model:${name}`, ...(context.flowRunId ? [context.flowRunId] : [])],
    status: null,
    outcome,
    clientIp: null,
    requestId: null,
    detail: { model: name, ...detail },
  };
}

/** The asset a model's versions are versions of: lineage reaches models, and models the data. */
export const modelAssetKey = (name: string) => `model://${name}`;

/**
 * A registered version is also version `vN` of the asset `model://NAME`, made from the data its
 * run read and wrote (every asset version linked to the flow run but other models), so lineage
 * goes from a production model to its training data set versions and the raw files upstream of
 * them, and "what was made from this data" reaches the models. Outside a run it has no inputs.
 */
async function materializeModelAsset(tx: Tx, host: Parameters<typeof writeMaterialization>[1], input: NewModelVersion, version: number, now: number): Promise<void> {
  const used = input.flowRunId
    ? (
        await tx
          .selectFrom("asset_run_links")
          .innerJoin("asset_versions", "asset_versions.id", "asset_run_links.version_id")
          .select("asset_run_links.version_id")
          .distinct()
          .where("asset_run_links.flow_run_id", "=", input.flowRunId)
          .where("asset_versions.asset_key", "not like", "model://%")
          .execute()
      ).map((r) => r.version_id)
    : [];
  await writeMaterialization(
    tx,
    host,
    {
      key: modelAssetKey(input.name),
      version: `v${version}`,
      hash: `sha256:${input.stored.sha256}`,
      rows: null,
      schema: input.signature === undefined || input.signature === null ? null : JSON.stringify(input.signature),
      metadata: JSON.stringify({ model: input.name, version, metrics: input.metrics }),
      flowRunId: input.flowRunId,
      taskRunId: input.taskRunId,
      inputs: used,
    },
    now,
  );
}

const SELECT_VERSION = ["name", "version", "source", "source_path", "size", "sha256", "metrics", "params", "signature", "description", "flow_run_id", "task_run_id", "experiment", "created_at"] as const;

export class KyselyModelStore implements ModelStore {
  constructor(private readonly base: KyselyStore) {}

  registerModelVersion(input: NewModelVersion): Promise<ModelVersionInfo> {
    return this.base.transaction(async (tx) => {
      const now = Date.now();
      await tx
        .insertInto("models")
        .values({ name: input.name, latest_version: 0, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
      // The increment takes the row's lock: a concurrent registration waits, then gets N+2.
      const { latest_version } = await tx
        .updateTable("models")
        .set((eb) => ({ latest_version: eb("latest_version", "+", 1), updated_at: now }))
        .where("name", "=", input.name)
        .returning("latest_version")
        .executeTakeFirstOrThrow();
      const version = Number(latest_version);
      const { stored } = input;
      await tx
        .insertInto("model_versions")
        .values({
          name: input.name,
          version,
          source: input.source,
          source_path: input.sourcePath,
          serializer: stored.serializer,
          value: stored.value,
          path: stored.path,
          size: stored.size,
          sha256: stored.sha256,
          metrics: JSON.stringify(input.metrics),
          params: JSON.stringify(input.params),
          signature: input.signature === undefined || input.signature === null ? null : JSON.stringify(input.signature),
          description: input.description,
          flow_run_id: input.flowRunId,
          task_run_id: input.taskRunId,
          experiment: input.experiment,
          created_at: now,
        })
        .execute();
      await materializeModelAsset(tx, this.base, input, version, now);
      const payload = { version, metrics: input.metrics, sha256: stored.sha256, size: stored.size };
      await appendEvents(tx, this.base, [modelEvent(MODEL_EVENTS.registered, input.name, payload, input, now)], now);
      await appendAuditEntries(tx, this.base.dialect, [auditEntry("model.registered", input.name, input, { version, sha256: stored.sha256 }, "success", now)]);
      const row = await tx.selectFrom("model_versions").select(SELECT_VERSION).where("name", "=", input.name).where("version", "=", version).executeTakeFirstOrThrow();
      return versionOf(row as Selectable<ModelVersionsTable>, []);
    });
  }

  async listModels(): Promise<ModelSummary[]> {
    const [models, aliases] = await Promise.all([
      this.base.db.selectFrom("models").selectAll().orderBy("updated_at", "desc").orderBy("name").execute(),
      this.base.db.selectFrom("model_aliases").select(["name", "alias", "version"]).execute(),
    ]);
    return models.map((m) => ({
      name: m.name,
      latestVersion: Number(m.latest_version),
      createdAt: Number(m.created_at),
      updatedAt: Number(m.updated_at),
      aliases: Object.fromEntries(aliases.filter((a) => a.name === m.name).map((a) => [a.alias, Number(a.version)])),
    }));
  }

  async getModel(name: string): Promise<ModelDetail | undefined> {
    // One snapshot for the four reads: separate ones could show an alias already moved back by a
    // rollback committed between them, next to a history without that rollback.
    const begin = this.base.db.transaction();
    const read = this.base.dialect === "postgres" ? begin.setIsolationLevel("repeatable read") : begin;
    const found = await read.execute(async (db) => {
      const model = await db.selectFrom("models").selectAll().where("name", "=", name).executeTakeFirst();
      if (!model) return undefined;
      const versions = await db.selectFrom("model_versions").select(SELECT_VERSION).where("name", "=", name).orderBy("version", "desc").execute();
      const aliases = await db.selectFrom("model_aliases").select(["alias", "version"]).where("name", "=", name).orderBy("alias").execute();
      const moves = await db.selectFrom("model_alias_moves").selectAll().where("name", "=", name).orderBy("seq", "desc").execute();
      return { model, versions, aliases, moves };
    });
    if (!found) return undefined;
    const { model, versions, aliases, moves } = found;
    const aliasesOf = (v: number) => aliases.filter((a) => Number(a.version) === v).map((a) => a.alias);
    return {
      name,
      latestVersion: Number(model.latest_version),
      createdAt: Number(model.created_at),
      updatedAt: Number(model.updated_at),
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, Number(a.version)])),
      versions: versions.map((v) => versionOf(v as Selectable<ModelVersionsTable>, aliasesOf(Number(v.version)))),
      moves: moves.map(moveOf),
    };
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersionInfo | undefined> {
    const db = this.base.db;
    const [row, aliases] = await Promise.all([
      db.selectFrom("model_versions").select(SELECT_VERSION).where("name", "=", name).where("version", "=", version).executeTakeFirst(),
      db.selectFrom("model_aliases").select("alias").where("name", "=", name).where("version", "=", version).orderBy("alias").execute(),
    ]);
    return row ? versionOf(row as Selectable<ModelVersionsTable>, aliases.map((a) => a.alias)) : undefined;
  }

  async aliasVersion(name: string, alias: string): Promise<number | undefined> {
    const row = await this.base.db.selectFrom("model_aliases").select("version").where("name", "=", name).where("alias", "=", alias).executeTakeFirst();
    return row ? Number(row.version) : undefined;
  }

  async modelValue(name: string, version: number): Promise<StoredModelValue | undefined> {
    const row = await this.base.db
      .selectFrom("model_versions")
      .select(["serializer", "value", "path", "size", "sha256"])
      .where("name", "=", name)
      .where("version", "=", version)
      .executeTakeFirst();
    return row ? { ...row, size: Number(row.size) } : undefined;
  }

  moveModelAlias(name: string, alias: string, version: number, context: MoveContext & { reason?: string | null }): Promise<{ from: number | null; to: number } | null> {
    return this.base.transaction(async (tx) => {
      const now = Date.now();
      if (!(await this.lockModel(tx, name, now))) return null;
      const exists = await tx.selectFrom("model_versions").select("version").where("name", "=", name).where("version", "=", version).executeTakeFirst();
      if (!exists) return null;
      const from = await this.pointAlias(tx, name, alias, version, now);
      await this.recordMove(tx, name, alias, "promoted", from, version, context.reason ?? null, context, now);
      return { from, to: version };
    });
  }

  refuseModelPromotion(name: string, alias: string, version: number, reason: string, context: MoveContext): Promise<void> {
    return this.base.transaction(async (tx) => {
      const now = Date.now();
      await this.lockModel(tx, name, now);
      const current = await tx.selectFrom("model_aliases").select("version").where("name", "=", name).where("alias", "=", alias).executeTakeFirst();
      await this.recordMove(tx, name, alias, "refused", current ? Number(current.version) : null, version, reason, context, now);
    });
  }

  rollbackModelAlias(name: string, alias: string, context: MoveContext): Promise<{ from: number; to: number } | { nothing: string }> {
    return this.base.transaction(async (tx) => {
      const now = Date.now();
      if (!(await this.lockModel(tx, name, now))) return { nothing: `model "${name}" does not exist` };
      // The latest promotion not yet undone: the alias goes back to where it was before it.
      const last = await tx
        .selectFrom("model_alias_moves")
        .selectAll()
        .where("name", "=", name)
        .where("alias", "=", alias)
        .where("kind", "=", "promoted")
        .where("undone", "=", 0)
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      if (!last) return { nothing: `alias "${alias}" of model "${name}" has no promotion to undo` };
      if (last.from_version === null)
        return { nothing: `alias "${alias}" of model "${name}" pointed to no version before its first promotion (to version ${Number(last.to_version)})` };
      const to = Number(last.from_version);
      const from = await this.pointAlias(tx, name, alias, to, now);
      await tx.updateTable("model_alias_moves").set({ undone: 1 }).where("id", "=", last.id).execute();
      await this.recordMove(tx, name, alias, "rolled-back", from, to, null, context, now);
      return { from: from ?? Number(last.to_version), to };
    });
  }

  /** Takes the model's row lock (see the header); false if there is no such model. */
  private async lockModel(tx: Tx, name: string, now: number): Promise<boolean> {
    const locked = await tx.updateTable("models").set({ updated_at: now }).where("name", "=", name).executeTakeFirst();
    return Number(locked.numUpdatedRows) > 0;
  }

  /** Points `alias` at `version`; returns the version it pointed to before (null: none). */
  private async pointAlias(tx: Tx, name: string, alias: string, version: number, now: number): Promise<number | null> {
    const before = await tx.selectFrom("model_aliases").select("version").where("name", "=", name).where("alias", "=", alias).executeTakeFirst();
    await tx
      .insertInto("model_aliases")
      .values({ name, alias, version, updated_at: now })
      .onConflict((oc) => oc.columns(["name", "alias"]).doUpdateSet({ version, updated_at: now }))
      .execute();
    return before ? Number(before.version) : null;
  }

  private async recordMove(tx: Tx, name: string, alias: string, kind: ModelMoveKind, from: number | null, to: number, reason: string | null, context: MoveContext, now: number): Promise<void> {
    const last = await tx.selectFrom("model_alias_moves").select((eb) => eb.fn.max("seq").as("seq")).where("name", "=", name).executeTakeFirst();
    await tx
      .insertInto("model_alias_moves")
      .values({
        id: newId(),
        name,
        alias,
        kind,
        from_version: from,
        to_version: to,
        reason,
        undone: 0,
        actor: JSON.stringify(context.actor),
        flow_run_id: context.flowRunId,
        at: now,
        seq: Number(last?.seq ?? 0) + 1,
      })
      .execute();
    const versions = await tx.selectFrom("model_versions").select(["version", "metrics"]).where("name", "=", name).where("version", "=", to).executeTakeFirst();
    const payload = { alias, version: to, from, to, reason, metrics: versions ? json(versions.metrics) : null };
    await appendEvents(tx, this.base, [modelEvent(MODEL_EVENTS[kind], name, payload, context, now)], now);
    await appendAuditEntries(tx, this.base.dialect, [auditEntry(`model.${kind}`, name, context, { alias, from, to, reason }, kind === "refused" ? "refused" : "success", now)]);
  }
}
