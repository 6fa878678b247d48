/**
 * A run of a deployment, made one way whoever asks: `POST /api/deployments/{name}/runs`,
 * `baton deployment run` (on the database or through the API) and the scheduler. Its
 * parameters are the deployment's defaults under the run's own, checked against the
 * deployment's JSON Schema (which fills in its defaults); its tags are the deployment's, then
 * the run's own, each once. Both merges are idempotent, so a run made through the API client
 * and merged again by the server comes out the same.
 */
import { newId } from "../core/ids.ts";
import { randomRunName } from "../core/run-names.ts";
import { makeState } from "../core/states.ts";
import type { JobVariables } from "../core/job-variables.ts";
import type { Deployment, FlowRun, NewFlowRun, OrchestrationStore, RunStore } from "../store/types.ts";
import { checkConfigRefs, deploymentRefChecks, type RefStores } from "./config-refs.ts";
import { DeploymentNotFoundError, UnknownWorkQueueError } from "./errors.ts";
import { checkJobVariablesEnv } from "./job-variables.ts";
import { checkParameters } from "./parameters.ts";

export interface DeploymentRunRequest {
  /** The run's name (default: a random one). */
  name?: string;
  /** A queue of the deployment's work pool (default: the deployment's). */
  workQueue?: string;
  /** Over the deployment's defaults. */
  parameters?: Record<string, unknown>;
  /** After the deployment's tags. */
  tags?: readonly string[];
  /** This run's own job variables (over its pool's and deployment's, when a worker claims it). */
  jobVariables?: JobVariables | null;
  /** When it is due (default: now). */
  scheduledAt?: number;
  /** The Scheduled state's message: who made it. */
  message?: string;
  /** The schedule slot it is for (the scheduler's runs; a unique index keeps one run per slot). */
  expectedStartTime?: number | null;
  /** Its id (default: a fresh one): `runDeployment` names its child so a resumed parent finds it. */
  id?: string;
  /** The flow run and task run that started it (`runDeployment`). */
  parentFlowRunId?: string | null;
  parentTaskRunId?: string | null;
}

/** The deployment's defaults under `given`, checked against its schema (an InvalidParametersError names each bad field). */
export function deploymentRunParameters(deployment: Deployment, given: Record<string, unknown> = {}): Record<string, unknown> {
  const merged = { ...deployment.parameters, ...given };
  checkParameters(deployment.parameterSchema, merged);
  return merged;
}

/** The deployment's tags, then `given`, each once. */
export function deploymentRunTags(deployment: Deployment, given: readonly string[] = []): string[] {
  return [...new Set([...deployment.tags, ...given])];
}

/** The new Scheduled run of `deployment` (with a fresh id and name): parameters checked, tags merged. */
export function deploymentRun(deployment: Deployment, request: DeploymentRunRequest = {}): NewFlowRun {
  return {
    id: request.id ?? newId(),
    flowName: deployment.flowName,
    name: request.name ?? randomRunName(),
    parentFlowRunId: request.parentFlowRunId ?? null,
    parentTaskRunId: request.parentTaskRunId ?? null,
    parameters: deploymentRunParameters(deployment, request.parameters),
    tags: deploymentRunTags(deployment, request.tags),
    version: deployment.version,
    entrypoint: deployment.entrypoint,
    deploymentId: deployment.id,
    workPool: deployment.workPool,
    workQueue: request.workQueue ?? deployment.workQueue,
    expectedStartTime: request.expectedStartTime ?? null,
    jobVariables: request.jobVariables ?? null,
    state: makeState("Scheduled", { scheduledAt: request.scheduledAt ?? Date.now(), message: request.message ?? "created from the deployment" }),
  };
}

/**
 * Creates a run of the deployment `idOrName` (by id or name): a DeploymentNotFoundError if it
 * does not exist, an InvalidParametersError for parameters its schema refuses, a
 * RefusedEnvironmentError for job variables its work pool does not allow, an
 * InvalidReferenceError for a `{{ variables.x }}` or `{{ secrets.x }}` of the run's own that names
 * nothing (each named by `parametersField` / `jobVariablesField` in the message), an
 * UnknownWorkQueueError for a queue its pool does not have. A worker of its pool picks the run
 * up when it is due.
 */
export async function createDeploymentRun(
  stores: { runs: Pick<RunStore, "createFlowRun">; deployments: Pick<OrchestrationStore, "getDeployment" | "getWorkPool">; refs: RefStores },
  idOrName: string,
  request: DeploymentRunRequest = {},
  options: { parametersField?: string; jobVariablesField?: string; workQueueField?: string } = {},
): Promise<{ deployment: Deployment; run: FlowRun }> {
  const fields = { parameters: options.parametersField ?? "parameters", jobVariables: options.jobVariablesField ?? "jobVariables" };
  await checkConfigRefs(stores.refs, deploymentRefChecks(request, fields));
  const deployment = await stores.deployments.getDeployment(idOrName);
  if (!deployment) throw new DeploymentNotFoundError(idOrName);
  const run = deploymentRun(deployment, request);
  if (request.workQueue !== undefined && request.workQueue !== deployment.workQueue) {
    // A queue that does not exist would hold the run forever: no worker polls it.
    const pool = deployment.workPool ? await stores.deployments.getWorkPool(deployment.workPool) : undefined;
    const queues = pool?.queues.map((q) => q.name) ?? [];
    if (!queues.includes(request.workQueue)) throw new UnknownWorkQueueError(options.workQueueField ?? "workQueue", { workQueue: request.workQueue, workPool: deployment.workPool, queues });
  }
  await checkJobVariablesEnv(stores.deployments, deployment.workPool, request.jobVariables, fields.jobVariables);
  return { deployment, run: await stores.runs.createFlowRun(run) };
}
