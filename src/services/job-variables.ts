/**
 * Job variables that would change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD,
 * BATON_*…; see core/job-variables.ts) are refused unless the run's work pool allows them.
 */
import { refusedEnvMessage, refusedEnvName, type JobVariables } from "../core/job-variables.ts";
import type { OrchestrationStore } from "../store/types.ts";
import { RefusedEnvironmentError } from "./errors.ts";

/**
 * A RefusedEnvironmentError for job variables (named `field` in messages) that set such a
 * variable which the work pool `poolName` does not allow (a run without a pool allows none).
 * `allowEnv`: the pool's list, when the caller has it already.
 */
export async function checkJobVariablesEnv(
  pools: Pick<OrchestrationStore, "getWorkPool">,
  poolName: string | null | undefined,
  jobVariables: JobVariables | null | undefined,
  field: string,
  allowEnv?: readonly string[],
): Promise<void> {
  // Most job variables set nothing of the kind: no pool lookup for them.
  if (refusedEnvName(jobVariables?.env, []) === null) return;
  const allowed = allowEnv ?? (poolName ? ((await pools.getWorkPool(poolName))?.allowEnv ?? []) : []);
  const refused = refusedEnvName(jobVariables?.env, allowed);
  if (refused) throw new RefusedEnvironmentError(refusedEnvMessage(field, refused, poolName ?? null), { field: `${field}.env.${refused}`, allowEnv: allowed });
}
