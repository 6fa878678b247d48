/**
 * The one place automations start a deployment's run: the same use case as
 * `POST /api/deployments/{name}/runs` (parameters over the deployment's defaults, checked
 * against its JSON Schema; tags after its own). That use case is moving out of the route into
 * src/services/deployment-runs.ts with this very signature; when it lands, this module becomes
 * a re-export of it.
 */
import { BatonError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { randomRunName } from "../core/run-names.ts";
import { makeState } from "../core/states.ts";
import type { Deployment, FlowRun, OrchestrationStore, Store } from "../store/types.ts";
import { checkParameters } from "./routes/orchestration.ts";

export interface DeploymentRunRequest {
  parameters?: Record<string, unknown>;
  tags?: readonly string[];
  /** The Scheduled state's message: who made it. */
  message?: string;
}

/** The deployment `idOrName` does not exist (any more). */
export class DeploymentNotFoundError extends BatonError {
  override name = "DeploymentNotFoundError";
  constructor(readonly deployment: string) {
    super(`deployment "${deployment}" does not exist`);
  }
}

export async function createDeploymentRun(
  stores: { runs: Pick<Store, "createFlowRun">; deployments: Pick<OrchestrationStore, "getDeployment" | "getWorkPool"> },
  idOrName: string,
  request: DeploymentRunRequest = {},
): Promise<{ deployment: Deployment; run: FlowRun }> {
  const deployment = await stores.deployments.getDeployment(idOrName);
  if (!deployment) throw new DeploymentNotFoundError(idOrName);
  const parameters = { ...deployment.parameters, ...request.parameters };
  checkParameters(deployment.parameterSchema, parameters);
  const run = await stores.runs.createFlowRun({
    id: newId(),
    flowName: deployment.flowName,
    name: randomRunName(),
    parentFlowRunId: null,
    parentTaskRunId: null,
    parameters,
    tags: [...new Set([...deployment.tags, ...(request.tags ?? [])])],
    version: deployment.version,
    entrypoint: deployment.entrypoint,
    deploymentId: deployment.id,
    workPool: deployment.workPool,
    workQueue: deployment.workQueue,
    jobVariables: null,
    state: makeState("Scheduled", { scheduledAt: Date.now(), message: request.message ?? "created from the deployment" }),
  });
  return { deployment, run };
}
