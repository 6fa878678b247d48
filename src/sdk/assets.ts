/**
 * Assets inside runs: declare what a task reads and writes (`reads`, `writes` task options), or
 * record a materialisation when it happens (`materialize`). Each materialisation is recorded
 * with its content hash, the run that produced it and the asset versions its task read — its
 * declared reads and what the task runs it got its data from produced — so lineage crosses
 * runs. A new version exists only when the content changed (the same hash confirms the latest),
 * and each new one emits `baton.asset.materialized`.
 *
 * @example
 * import { asset, flow, materialize, task } from "baton";
 * const raw = asset("file://data/raw.csv");
 * const features = task(async function features(rows: number[]) {
 *   return rows.map((r) => r * 2);
 * }, { reads: [raw], writes: [asset("dataset://features")] }); // versioned from its result
 * export const pipeline = flow(async function pipeline() {
 *   const rows = [1, 2, 3];
 *   await materialize(raw, { value: rows, rows: rows.length });
 *   await features(rows);
 * });
 */
import { checkAssetKey, isAsset, type Asset, type AssetVersion, type MaterializeOptions, type MaterializeOutcome } from "../core/assets.ts";
import { BatonError } from "../core/errors.ts";
import { materializeIn, resolvedRead } from "../engine/assets.ts";
import type { Runtime } from "../engine/runtime.ts";
import { KyselyAssetViews, type AssetViews } from "../store/asset-store.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import type { RemoteStore } from "../client/remote-store.ts";
import { RemoteAssets } from "../client/remote-assets.ts";
import { currentEngineContext } from "../engine/run-context.ts";

/**
 * Records a materialisation of `target` by the current task run (or flow run): a new version
 * when its content is new, else a confirmation of the existing one. Resolves once stored.
 */
export function materialize(target: Asset | string, options: MaterializeOptions = {}): Promise<MaterializeOutcome> {
  if (isAsset(target) && target.pinned) throw new TypeError(`materialize(asset): ${target.key} is pinned to version ${target.pinned}; name the version to write with materialize(asset, { version })`);
  const key = checkAssetKey(isAsset(target) ? target.key : target, "materialize(asset)");
  const ctx = currentEngineContext();
  if (!ctx) throw new BatonError(`materialize(${key}) needs a running flow: call it from a flow or a task (a task on runner "threads" declares writes instead)`);
  return materializeIn(ctx.flow, ctx.task?.id ?? null, key, options);
}

/**
 * The version of `target` the current task run reads — one of its declared `reads`, resolved
 * when it started: the pinned one, the one a retry or a re-run of its flow run keeps, else the
 * latest — or null when the asset has no version yet. Load the data of that version from where
 * the version says (its name, hash or metadata), and a re-run works on the same data.
 */
export function readVersion(target: Asset | string): AssetVersion | null {
  const key = checkAssetKey(isAsset(target) ? target.key : target, "readVersion(asset)");
  const ctx = currentEngineContext();
  if (!ctx?.task) throw new BatonError(`readVersion(${key}) answers inside a task that declares the asset in its reads (a task on runner "threads" gets the version as an argument instead)`);
  const found = resolvedRead(ctx.flow, ctx.task.id, key);
  if (found === undefined) throw new TypeError(`readVersion(${key}): task "${ctx.task.name}" does not declare it; add it to the task's reads: task(fn, { reads: [asset("${key}")] })`);
  return found;
}

/** The runtime's asset views: its database's, or its server's. */
export function assetViewsOf(runtime: Runtime): AssetViews {
  // Not `instanceof`: the runtime may have been opened by another copy of Baton (process-wide.ts).
  return runtime.databaseUrl ? new KyselyAssetViews(runtime.store as KyselyStore) : new RemoteAssets((runtime.store as RemoteStore).api);
}
