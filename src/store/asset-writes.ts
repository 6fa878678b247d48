/**
 * Asset writes in the caller's transaction: a run's declared reads, a materialisation, and
 * what deleting runs leaves of them. The reads are asset-store.ts'.
 *
 * recordAssetReads — inputs: a task run's declared reads (a key, and a pinned version name or
 * hash, or null for the latest). Outcome: each resolved, recorded as read by the run; a pinned
 * version that does not exist is an AssetVersionNotFoundError (nothing recorded); an asset with
 * no version yet resolves to null. A run that already read a version of the asset (its flow run
 * retried or resumed: the task run keeps its id) reads that one again, not the latest: a retry
 * works on the data the run used. So does a task run of a flow run that read a version itself
 * (a re-run records the versions its source read as its own, before any task starts).
 *
 * writeMaterialization — inputs: a key, a version name (null: the content hash), the hash, the
 * producing run and explicit input version ids. Outcomes:
 *   - the version name is new: a new version, `baton.asset.materialized` emitted;
 *   - it exists with the same hash: confirmed (its `materialized_at` moves: it is the latest
 *     again), no event: "a new dataset version only when the data changed";
 *   - it exists with another hash: AssetVersionConflictError (versions are immutable).
 * Either way the run is linked as its producer, and its inputs are the explicit ones plus what
 * its task run read: declared reads, and the versions upstream task runs (task_dependencies,
 * through task runs that materialised nothing) produced or, producing none, read.
 */
import type { Selectable } from "kysely";
import { AssetVersionConflictError, AssetVersionNotFoundError, type AssetMaterialization, type AssetReadRequest, type AssetVersion, type MaterializeOutcome } from "../core/assets.ts";
import type { NewEvent } from "../core/event-records.ts";
import { newId } from "../core/ids.ts";
import type { AssetVersionsTable } from "./schema.ts";
import type { TransitionHost, Tx } from "./transitions/host.ts";
import { appendEvents } from "./transitions/event-log.ts";

/** How many task-dependency levels implicit reads are looked for through. */
const MAX_UPSTREAM_LEVELS = 50;

export function assetVersionFromRow(row: Selectable<AssetVersionsTable>): AssetVersion {
  return {
    id: row.id,
    key: row.asset_key,
    version: row.version,
    hash: row.hash,
    rows: row.rows == null ? null : Number(row.rows),
    schema: row.schema == null ? null : (JSON.parse(row.schema) as unknown),
    metadata: row.metadata == null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    flowRunId: row.flow_run_id,
    taskRunId: row.task_run_id,
    runDeleted: Number(row.run_deleted) === 1,
    createdAt: Number(row.created_at),
    materializedAt: Number(row.materialized_at),
  };
}

/** An asset's latest version (the last materialised), if it has one. */
export async function latestVersion(tx: Tx, key: string): Promise<AssetVersion | undefined> {
  const row = await tx.selectFrom("asset_versions").selectAll().where("asset_key", "=", key).orderBy("materialized_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
  return row ? assetVersionFromRow(row) : undefined;
}

/** A version of `key` by its name or its hash (the newest such). */
async function versionNamed(tx: Tx, key: string, name: string): Promise<AssetVersion | undefined> {
  const row = await tx
    .selectFrom("asset_versions")
    .selectAll()
    .where("asset_key", "=", key)
    .where((eb) => eb.or([eb("version", "=", name), eb("hash", "=", name)]))
    .orderBy("materialized_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? assetVersionFromRow(row) : undefined;
}

async function missingVersion(tx: Tx, key: string, name: string): Promise<AssetVersionNotFoundError> {
  const names = await tx.selectFrom("asset_versions").select("version").where("asset_key", "=", key).orderBy("materialized_at", "desc").limit(5).execute();
  const known = names.length ? `its latest versions: ${names.map((n) => n.version).join(", ")}` : "it has no versions yet";
  return new AssetVersionNotFoundError(`asset ${key} has no version "${name}" (by name or hash); ${known}. See baton asset inspect ${key}`);
}

async function link(tx: Tx, versionIds: readonly string[], kind: "read" | "wrote", run: { flowRunId: string; taskRunId: string | null }, now: number): Promise<void> {
  if (!versionIds.length) return;
  const runId = run.taskRunId ?? run.flowRunId;
  await tx
    .insertInto("asset_run_links")
    .values(versionIds.map((id) => ({ version_id: id, run_id: runId, kind, flow_run_id: run.flowRunId, task_run_id: run.taskRunId, at: now })))
    .onConflict((oc) => oc.columns(["version_id", "run_id", "kind"]).doUpdateSet({ at: now }))
    .execute();
}

/** The version of `key` read last by the first of `runIds` (in order) that read one, in one query. */
async function readBefore(tx: Tx, runIds: readonly string[], key: string): Promise<AssetVersion | undefined> {
  const rows = await tx
    .selectFrom("asset_run_links as l")
    .innerJoin("asset_versions as v", "v.id", "l.version_id")
    .selectAll("v")
    .select("l.run_id as link_run_id")
    .where("l.run_id", "in", runIds)
    .where("l.kind", "=", "read")
    .where("v.asset_key", "=", key)
    .orderBy("l.at", "desc")
    .execute();
  for (const runId of runIds) {
    const last = rows.find((r) => r.link_run_id === runId);
    if (last) return assetVersionFromRow(last);
  }
  return undefined;
}

/** Resolves a run's declared reads and records them as read by it, in order. */
export async function recordAssetReads(tx: Tx, request: AssetReadRequest, now: number): Promise<(AssetVersion | null)[]> {
  const resolved: (AssetVersion | null)[] = [];
  for (const read of request.reads) {
    if (read.version === null) {
      // The task run's earlier read (a retry), else its flow run's (a re-run pins the versions its source read), else the latest.
      const runs = request.taskRunId ? [request.taskRunId, request.flowRunId] : [request.flowRunId];
      resolved.push((await readBefore(tx, runs, read.key)) ?? (await latestVersion(tx, read.key)) ?? null);
      continue;
    }
    const pinned = await versionNamed(tx, read.key, read.version);
    if (!pinned) throw await missingVersion(tx, read.key, read.version);
    resolved.push(pinned);
  }
  await link(tx, resolved.flatMap((v) => (v ? [v.id] : [])), "read", request, now);
  return resolved;
}

/** The versions a task run read: declared, and produced by the task runs its data came from. */
async function readsOfTaskRun(tx: Tx, taskRunId: string): Promise<string[]> {
  const found = new Set((await tx.selectFrom("asset_run_links").select("version_id").where("run_id", "=", taskRunId).where("kind", "=", "read").execute()).map((r) => r.version_id));
  const seen = new Set([taskRunId]);
  let frontier = [taskRunId];
  for (let level = 0; level < MAX_UPSTREAM_LEVELS && frontier.length; level++) {
    const ups = (await tx.selectFrom("task_dependencies").select("upstream_task_run_id as id").where("task_run_id", "in", frontier).where("kind", "=", "data").execute())
      .map((r) => r.id)
      .filter((id) => !seen.has(id));
    if (!ups.length) break;
    for (const id of ups) seen.add(id);
    const links = await tx.selectFrom("asset_run_links").select(["version_id", "run_id", "kind"]).where("run_id", "in", ups).execute();
    const wrote = links.filter((l) => l.kind === "wrote");
    for (const w of wrote) found.add(w.version_id);
    // A task run that produced versions is where lineage stops: its own inputs are theirs. One
    // that produced none passed on what it read (a model it loaded, a file it parsed).
    const producers = new Set(wrote.map((w) => w.run_id));
    for (const l of links) if (l.kind === "read" && !producers.has(l.run_id)) found.add(l.version_id);
    frontier = ups.filter((id) => !producers.has(id));
  }
  return [...found];
}

/** Records a materialisation (see the header); the event is emitted in the same transaction. */
export async function writeMaterialization(tx: Tx, host: Pick<TransitionHost, "run">, m: AssetMaterialization, now: number): Promise<MaterializeOutcome> {
  const explicit = [...new Set(m.inputs)];
  if (explicit.length) {
    const known = new Set((await tx.selectFrom("asset_versions").select("id").where("id", "in", explicit).execute()).map((r) => r.id));
    const unknown = explicit.find((id) => !known.has(id));
    if (unknown) throw new AssetVersionNotFoundError(`inputs: no asset version has the id ${unknown}`);
  }
  const inputs = new Set([...explicit, ...(m.taskRunId ? await readsOfTaskRun(tx, m.taskRunId) : [])]);
  const name = m.version ?? m.hash;
  const named = () => tx.selectFrom("asset_versions").selectAll().where("asset_key", "=", m.key).where("version", "=", name).executeTakeFirst();
  let existing = await named();
  let created = false;
  if (!existing) {
    const row = {
      id: newId(),
      asset_key: m.key,
      version: name,
      hash: m.hash,
      rows: m.rows,
      schema: m.schema,
      metadata: m.metadata,
      flow_run_id: m.flowRunId,
      task_run_id: m.taskRunId,
      run_deleted: 0,
      created_at: now,
      materialized_at: now,
    };
    // Two runs materialising the same new content at once (a fan-out): the second insert does
    // nothing (on PostgreSQL it waits for the first to commit) and confirms the first's version.
    await tx
      .insertInto("asset_versions")
      .values(row)
      .onConflict((oc) => oc.columns(["asset_key", "version"]).doNothing())
      .execute();
    existing = (await named())!;
    created = existing.id === row.id;
  }
  if (!created && existing.hash !== m.hash)
    throw new AssetVersionConflictError(`asset ${m.key} already has a version "${name}" with hash ${existing.hash}, not ${m.hash}: a version's content never changes; materialise under a new version name (or none: the hash names it)`);
  if (!created) await tx.updateTable("asset_versions").set({ materialized_at: now }).where("id", "=", existing.id).execute();
  const version: AssetVersion = { ...assetVersionFromRow(existing), materializedAt: now };
  inputs.delete(version.id);
  if (inputs.size)
    await tx
      .insertInto("asset_version_inputs")
      .values([...inputs].map((id) => ({ version_id: version.id, input_version_id: id })))
      .onConflict((oc) => oc.columns(["version_id", "input_version_id"]).doNothing())
      .execute();
  if (m.flowRunId) await link(tx, [version.id], "wrote", { flowRunId: m.flowRunId, taskRunId: m.taskRunId }, now);
  if (created) await appendEvents(tx, host, [materializedEvent(version, now)]);
  return { version, created };
}

/** `baton.asset.materialized`: a new version of an asset exists. */
export function materializedEvent(v: AssetVersion, now: number): NewEvent {
  const related = [];
  if (v.flowRunId) related.push({ role: "flow-run", id: v.flowRunId, name: null });
  if (v.taskRunId) related.push({ role: "task-run", id: v.taskRunId, name: null });
  return {
    id: newId(),
    occurred: now,
    event: "baton.asset.materialized",
    resource: { id: `asset:${v.key}`, name: v.key, labels: { kind: "asset" } },
    related,
    payload: { versionId: v.id, version: v.version, hash: v.hash, rows: v.rows },
  };
}

/**
 * Deleting flow runs keeps asset versions and lineage: the versions they produced no longer
 * name them (lineage shows "run deleted"), and their read and write records go.
 */
export async function forgetAssetRuns(tx: Tx, flowRunIds: readonly string[]): Promise<void> {
  if (!flowRunIds.length) return;
  const ids = [...flowRunIds];
  await tx.updateTable("asset_versions").set({ flow_run_id: null, task_run_id: null, run_deleted: 1 }).where("flow_run_id", "in", ids).execute();
  await tx.deleteFrom("asset_run_links").where("flow_run_id", "in", ids).execute();
}
