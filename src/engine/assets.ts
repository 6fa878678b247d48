/**
 * Assets inside runs: a task run's declared reads, resolved when it starts; its `materialize`
 * calls; and its declared writes, materialised from its result when it completes unless it
 * materialised them itself. Each write waits for the batcher first: the task run's own records
 * must be committed before records that name it (a server refuses values of a task run it does
 * not know). Only flow runs that touch assets have state here, so other task runs pay one
 * WeakMap lookup.
 */
import { compileMaterialization, type Asset, type AssetVersion, type MaterializeOptions, type MaterializeOutcome } from "../core/assets.ts";
import type { FlowRunState } from "./flow-run-state.ts";

/** What a task run's attempt materialised itself: the keys, and the calls still under way. */
interface TaskAssets {
  keys: Set<string>;
  pending: Promise<unknown>[];
}

const byFlow = new WeakMap<FlowRunState, Map<string, TaskAssets>>();

/** The versions each task run (with declared reads) resolved, by key: what `readVersion` answers. */
const readsByFlow = new WeakMap<FlowRunState, Map<string, Map<string, AssetVersion | null>>>();

/** Resolves and records a task run's declared reads; rejects (AssetVersionNotFoundError) for a pinned version that does not exist. */
export async function resolveReads(flow: FlowRunState, taskRunId: string, reads: readonly Asset[]): Promise<void> {
  await flow.runtime.batcher.write([]);
  const resolved = await flow.runtime.store.recordAssetReads({ flowRunId: flow.flowRun.id, taskRunId, reads: reads.map((r) => ({ key: r.key, version: r.pinned })) });
  let runs = readsByFlow.get(flow);
  if (!runs) readsByFlow.set(flow, (runs = new Map()));
  runs.set(taskRunId, new Map(reads.map((r, i) => [r.key, resolved[i] ?? null])));
}

/** The version of `key` a task run resolved among its declared reads (null: the asset had none); undefined when it does not declare it. */
export function resolvedRead(flow: FlowRunState, taskRunId: string, key: string): AssetVersion | null | undefined {
  return readsByFlow.get(flow)?.get(taskRunId)?.get(key);
}

/** A task run that ended: what it read is no longer asked for. */
export function forgetTaskReads(flow: FlowRunState, taskRunId: string): void {
  readsByFlow.get(flow)?.delete(taskRunId);
}

/** Records a materialisation by the flow run, or by one of its task runs. */
export function materializeIn(flow: FlowRunState, taskRunId: string | null, key: string, options: MaterializeOptions): Promise<MaterializeOutcome> {
  const compiled = compileMaterialization(key, options);
  const written = (async () => {
    await flow.runtime.batcher.write([]);
    return flow.runtime.store.materializeAsset({ ...compiled, flowRunId: flow.flowRun.id, taskRunId, inputs: [] });
  })();
  // Not awaited by the caller: the flow run still waits for it, and a failure does not crash the process (the caller's promise rejects).
  const quiet = written.catch(() => undefined);
  flow.track(quiet);
  if (taskRunId) {
    let runs = byFlow.get(flow);
    if (!runs) byFlow.set(flow, (runs = new Map()));
    let entry = runs.get(taskRunId);
    if (!entry) runs.set(taskRunId, (entry = { keys: new Set(), pending: [] }));
    entry.keys.add(key);
    entry.pending.push(quiet);
  }
  return written;
}

/** A new attempt of a task run starts with nothing materialised. */
export function resetTaskAssets(flow: FlowRunState, taskRunId: string): void {
  byFlow.get(flow)?.delete(taskRunId);
}

/** Whether the task run has anything to settle before it completes. */
export function hasTaskAssets(flow: FlowRunState, taskRunId: string, writes: readonly Asset[]): boolean {
  return writes.length > 0 || byFlow.get(flow)?.has(taskRunId) === true;
}

/** Before a task run completes: its materialise calls are committed, and its declared writes it did not materialise are, from its result. */
export async function settleTaskAssets(flow: FlowRunState, taskRunId: string, writes: readonly Asset[], result: unknown): Promise<void> {
  const entry = byFlow.get(flow)?.get(taskRunId);
  byFlow.get(flow)?.delete(taskRunId);
  if (entry) await Promise.all(entry.pending);
  for (const w of writes) if (!entry?.keys.has(w.key)) await materializeIn(flow, taskRunId, w.key, { value: result });
  byFlow.get(flow)?.delete(taskRunId);
}
