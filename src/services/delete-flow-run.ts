/** Deleting a flow run with its task runs, states, logs and artifacts; its child runs lose their parent link. */
import { RunNotFoundError } from "../core/errors.ts";
import type { RunStore } from "../store/types.ts";

/** A RunNotFoundError when there is no such run. */
export async function deleteFlowRun(runs: Pick<RunStore, "deleteFlowRun">, id: string): Promise<void> {
  if (!(await runs.deleteFlowRun(id))) throw new RunNotFoundError("flow run", id);
}
