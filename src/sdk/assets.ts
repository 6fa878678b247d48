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
import { checkAssetKey, isAsset, type Asset, type MaterializeOptions, type MaterializeOutcome } from "../core/assets.ts";
import { BatonError } from "../core/errors.ts";
import { materializeIn } from "../engine/assets.ts";
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
