/**
 * Creating or updating a work pool, one way whoever asks (`POST /api/work-pools`, `baton
 * work-pool create`, on the database or through the API): its job variables' `{{ variables.x }}`
 * and `{{ secrets.x }}` must name values that exist (an InvalidReferenceError naming
 * `jobVariablesField`), before anything is stored.
 */
import type { OrchestrationStore, WorkPool } from "../store/types.ts";
import { checkConfigRefs, jobVariablesRefCheck, type RefStores } from "./config-refs.ts";

export async function upsertWorkPool(
  stores: { pools: Pick<OrchestrationStore, "upsertWorkPool">; refs: RefStores },
  input: Parameters<OrchestrationStore["upsertWorkPool"]>[0],
  options: { jobVariablesField?: string } = {},
): Promise<WorkPool> {
  await checkConfigRefs(stores.refs, jobVariablesRefCheck(input.jobVariables, options.jobVariablesField ?? "jobVariables"));
  return stores.pools.upsertWorkPool(input);
}
