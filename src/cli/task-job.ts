/**
 * A task job's process (see engine/task-jobs.ts): the flow run a worker claimed is one attempt
 * of a task with `workPool`. Its module is imported, the task found by the name it was defined
 * with, and run once with the stored arguments as the body of the flow run: the run's
 * heartbeats, cancellation, timeout (the task's) and result storage are a flow run's; its
 * retries are the parent's (none here).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BatonError } from "../core/errors.ts";
import { compileFlowOptions } from "../core/options.ts";
import { deserialize } from "../core/serializer.ts";
import type { FlowDefinition } from "../engine/flow-runner.ts";
import { findTask, taskNamesOf } from "../engine/task-registry.ts";
import type { TaskJobParameters } from "../engine/task-jobs.ts";
import type { FlowRun } from "../store/types.ts";
import { importFlowModule } from "./load-flow.ts";

/** The flow definition that runs task job `run` (entrypoint `file:taskName`). */
export async function loadTaskJob(run: FlowRun, file: string, taskName: string): Promise<FlowDefinition> {
  const resolved = path.resolve(file);
  await importFlowModule(resolved);
  // Tasks register themselves when their module is evaluated (task-registry.ts), exported or not.
  const moduleUrl = pathToFileURL(resolved).href;
  const def = findTask(moduleUrl, taskName);
  if (!def) {
    const known = taskNamesOf(moduleUrl);
    throw new BatonError(
      `flow run ${run.id}: task "${taskName}" not found in module ${resolved} (it defines: ${known.length ? known.join(", ") : "no task"}); define it with task() at the top level of that module, not inside a function`,
    );
  }
  const fn = async (params: TaskJobParameters): Promise<unknown> => {
    if (typeof params?.args !== "string") throw new BatonError(`flow run ${run.id} is a task job, but its parameters hold no serialized arguments (args)`);
    const args = deserialize<unknown[]>(params.args);
    return await def.fn(...args);
  };
  // The task's timeout bounds the run here too; retries stay the parent's.
  const options = compileFlowOptions(fn, { name: run.flowName, ...(def.options.timeoutMs !== null ? { timeoutMs: def.options.timeoutMs } : {}) });
  return { fn: fn as FlowDefinition["fn"], options, entrypoint: run.entrypoint };
}
