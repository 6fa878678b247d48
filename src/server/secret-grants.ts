/**
 * Which secrets a worker key may read for a flow run: those the job variables of the run a
 * worker claimed reference (its pool's, its deployment's and its own, merged as the claim
 * merges them), for that run and its child runs. An admin grants a deployment a secret by
 * referencing it (`{{ secrets.name }}`); a worker key reads nothing else, so a leaked worker key
 * does not open every secret.
 */
import { findTemplateRefs } from "../core/template-refs.ts";
import { mergeJobVariables, type JobVariables } from "../core/job-variables.ts";
import type { OrchestrationStore, Store } from "../store/types.ts";
import { ApiError } from "./errors.ts";

/** What finding a run's grants reads. */
export interface GrantLookup extends Pick<Store, "getFlowRun">, Pick<OrchestrationStore, "getDeployment" | "getWorkPool"> {
  /** The run's own job variables (over its pool's and deployment's), or null. */
  flowRunJobVariables(id: string): Promise<JobVariables | null>;
}

/** Parent links followed at most (as in worker-runs.ts). */
const MAX_DEPTH = 1000;

/** The secret names the worker's run `flowRunId` (or the run a worker claimed above it) references. */
export async function secretsGrantedTo(lookup: GrantLookup, flowRunId: string): Promise<Set<string>> {
  let current: string | null = flowRunId;
  for (let depth = 0; current !== null && depth < MAX_DEPTH; depth++) {
    const run = await lookup.getFlowRun(current);
    if (!run) break;
    if (run.workerId !== null) {
      const pool = run.workPool ? await lookup.getWorkPool(run.workPool) : undefined;
      const deployment = run.deploymentId ? await lookup.getDeployment(run.deploymentId) : undefined;
      const merged = mergeJobVariables(pool?.jobVariables, deployment?.jobVariables, await lookup.flowRunJobVariables(run.id));
      return new Set(findTemplateRefs(merged, "job_variables").filter((r) => r.kind === "secrets").map((r) => r.name));
    }
    current = run.parentFlowRunId;
  }
  return new Set();
}

/** A 403 unless the worker's run `flowRunId` references secret `name`. */
export async function requireSecretGrant(lookup: GrantLookup, name: string, flowRunId: string): Promise<void> {
  if (!(await secretsGrantedTo(lookup, flowRunId)).has(name))
    throw new ApiError(
      403,
      "FORBIDDEN",
      `secret "${name}": flow run ${flowRunId} may not read it; a worker key reads only the secrets its run's job variables reference (add {{ secrets.${name} }} to the deployment's or work pool's job variables), or use an admin API key`,
    );
}
