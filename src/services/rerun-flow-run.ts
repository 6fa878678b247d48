/**
 * Re-running a flow run through a worker (the API's rerun): a new run of the same deployment (or
 * the same pool and entrypoint) with the source's parameters, whose own reads are the asset
 * versions the source read — so its task runs' unpinned reads resolve to those versions, not to
 * the latest: the same experiment on the same data. The reads are recorded before the run
 * exists, so no worker can start it before they are its own. A run no worker can pick up is
 * re-run where the flow's code is (`baton flow-run rerun`, `flow.rerun(id)`).
 */
import { RunNotFoundError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { randomRunName } from "../core/run-names.ts";
import { makeState } from "../core/states.ts";
import { readPins, type AssetViews } from "../store/asset-store.ts";
import type { FlowRun, OrchestrationStore, RunStore } from "../store/types.ts";
import type { RefStores } from "./config-refs.ts";
import { createDeploymentRun } from "./deployment-runs.ts";
import { NoWorkerCanRunError, RerunOfChildError } from "./errors.ts";

export interface Rerun {
  run: FlowRun;
  /** The versions it reads, per asset: those its source read last. */
  pinned: { key: string; version: string }[];
}

/**
 * The new Scheduled run. A RunNotFoundError; a NoWorkerCanRunError for a source without a work
 * pool or an entrypoint; a RerunOfChildError for a child run (its parent re-runs it);
 * a DeploymentNotFoundError when the source's deployment was deleted since.
 */
export async function rerunFlowRun(
  stores: {
    runs: Pick<RunStore, "getFlowRun" | "createFlowRun" | "recordAssetReads">;
    assets: Pick<AssetViews, "flowRunAssets">;
    deployments: Pick<OrchestrationStore, "getDeployment" | "getWorkPool">;
    refs: RefStores;
  },
  id: string,
): Promise<Rerun> {
  const source = await stores.runs.getFlowRun(id);
  if (!source) throw new RunNotFoundError("flow run", id);
  if (source.parentFlowRunId) throw new RerunOfChildError(source.id, source.parentFlowRunId);
  if (!source.workPool || !source.entrypoint) throw new NoWorkerCanRunError(source.id, { workPool: source.workPool, entrypoint: source.entrypoint }, "rerun");
  const used = await stores.assets.flowRunAssets(source.id);
  const pinned = used ? readPins(used) : [];
  const rerunId = newId();
  if (pinned.length > 0) await stores.runs.recordAssetReads({ flowRunId: rerunId, taskRunId: null, reads: pinned });
  const message = `re-run of flow run ${source.id}${pinned.length ? ` on the ${pinned.length} asset version(s) it read` : ""}`;
  const parameters = source.parameters as Record<string, unknown>;
  if (source.deploymentId) {
    const { run } = await createDeploymentRun(stores, source.deploymentId, { id: rerunId, parameters, tags: source.tags, ...(source.workQueue ? { workQueue: source.workQueue } : {}), message });
    return { run, pinned };
  }
  const run = await stores.runs.createFlowRun({
    id: rerunId,
    flowName: source.flowName,
    name: randomRunName(),
    parentFlowRunId: null,
    parentTaskRunId: null,
    parameters,
    tags: source.tags,
    version: source.version,
    entrypoint: source.entrypoint,
    workPool: source.workPool,
    workQueue: source.workQueue,
    state: makeState("Scheduled", { scheduledAt: Date.now(), message }),
  });
  return { run, pinned };
}
