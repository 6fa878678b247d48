/**
 * `runDeployment(name, options)`: a run of a deployment, started from a flow and awaited, that
 * any worker of the deployment's pool executes — on this machine or another (Prefect's
 * `run_deployment`, Temporal's child workflow).
 *
 * Durable: inside a flow the call is a task run of the parent (`run-deployment`), and the child
 * run's id is made from the parent run's id and that task's key. A parent that crashed while it
 * waited and is resumed calls it again, finds the child it started (running or finished) and
 * waits for that one: it never starts a second. A child that finished before the crash is not
 * even looked up again: the task's result (the child's result) is stored like any task's.
 *
 * The answer is the child run's result; a child that ends Failed, Crashed, Cancelled or
 * TimedOut throws a FlowRunError naming it. Cancelling the parent cancels the child (as
 * Temporal's default parent-close policy does); a parent that crashes leaves it running, for
 * its resume to find.
 *
 * @example
 * import { flow, runDeployment } from "baton";
 * export const sweep = flow(async function sweep() {
 *   const scores = await Promise.all([0.01, 0.1].map((lr) => runDeployment<number>("train/gpu", { parameters: { lr } })));
 *   return Math.max(...scores);
 * });
 */
import { BatonError, FlowRunError } from "../core/errors.ts";
import { idForName, newId } from "../core/ids.ts";
import type { JobVariables } from "../core/job-variables.ts";
import { awaitChildRun, childRunResult } from "../engine/child-runs.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import type { Runtime } from "../engine/runtime.ts";
import { createDeploymentRun } from "../services/deployment-runs.ts";
import type { FlowRun } from "../store/types.ts";
import { getRuntime } from "./runtime.ts";
import { task } from "./task.ts";
import { variableExists } from "./values.ts";

export interface RunDeploymentOptions {
  /** Over the deployment's default parameters (checked against its schema). */
  parameters?: Record<string, unknown>;
  /** After the deployment's tags. */
  tags?: readonly string[];
  /** A queue of the deployment's pool (default: the deployment's). */
  workQueue?: string;
  /** The child run's own job variables (over its pool's and deployment's). */
  jobVariables?: JobVariables;
  /** The child run's name (default: a random one). */
  name?: string;
  /** Stop waiting after this many ms (a BatonError; the child goes on). Default: wait until it ends. */
  timeoutMs?: number;
  /** The parent's task key for this call (default: "run-deployment-N", N counting the calls). */
  key?: string;
}

/** The child run: found by its id when it was started already (a resumed parent), else created. */
async function childRun(runtime: Runtime, deployment: string, options: RunDeploymentOptions, link: { id: string; parentFlowRunId: string | null; parentTaskRunId: string | null }): Promise<FlowRun> {
  const found = await runtime.store.getFlowRun(link.id);
  if (found) return found;
  const request = { ...link, parameters: options.parameters, tags: options.tags, workQueue: options.workQueue, jobVariables: options.jobVariables ?? null, name: options.name, message: link.parentFlowRunId ? `started by flow run ${link.parentFlowRunId}` : "started by runDeployment" };
  // Secrets in the child's job variables are checked when a worker starts it: a run's key may
  // read only the secrets its own job variables name, so it cannot look others up here.
  const refs = { hasVariable: variableExists, hasSecret: async () => true };
  try {
    return (await createDeploymentRun({ runs: runtime.store, deployments: runtime.orchestration, refs }, deployment, request, { parametersField: "runDeployment parameters", jobVariablesField: "runDeployment jobVariables", workQueueField: "runDeployment workQueue" })).run;
  } catch (error) {
    // Created by an earlier try whose answer was lost (a server restart): the id says so.
    const raced = await runtime.store.getFlowRun(link.id).catch(() => undefined);
    if (raced) return raced;
    throw error;
  }
}

/** Waits for `run` to end; its result, or a FlowRunError. */
async function awaitChild(runtime: Runtime, run: FlowRun, options: RunDeploymentOptions, signal?: AbortSignal): Promise<unknown> {
  const ended = await awaitChildRun(runtime, run, {
    deadline: options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs,
    onDeadline: (current) => new BatonError(`deployment run ${current.id} of "${current.flowName}" did not end within ${options.timeoutMs} ms (timeoutMs); it is ${current.state.name} and goes on`),
    signal,
    cancelMessage: "its parent was cancelled",
  });
  if (ended.state.type !== "COMPLETED") throw new FlowRunError(ended.id, ended.flowName, ended.state);
  return childRunResult(runtime, ended);
}

/** Inside a flow: the parent's task run for one call. */
const deploymentRunTask = task(
  async function runDeploymentTask(deployment: string, options: RunDeploymentOptions): Promise<unknown> {
    const ctx = currentEngineContext()!;
    const runtime = ctx.flow.runtime;
    const parent = ctx.flow.flowRun;
    const id = idForName(`deployment-run:${parent.id}:${ctx.task!.taskKey}`);
    const run = await childRun(runtime, deployment, options, { id, parentFlowRunId: parent.id, parentTaskRunId: ctx.task!.id });
    return awaitChild(runtime, run, options, ctx.task!.signal);
  },
  { name: "run-deployment" },
);

/**
 * Starts a run of deployment `name` (by name or id) and waits for it; its result. See the
 * module's comment for durability, failures and cancellation.
 */
export async function runDeployment<T = unknown>(name: string, options: RunDeploymentOptions = {}): Promise<T> {
  if (typeof name !== "string" || name === "") throw new TypeError("runDeployment: name must be a deployment's name or id");
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) throw new TypeError(`runDeployment: timeoutMs must be a positive number of ms, got ${String(options.timeoutMs)}`);
  const ctx = currentEngineContext();
  if (ctx && !ctx.task) {
    const { key, ...rest } = options;
    const call = key === undefined ? deploymentRunTask : deploymentRunTask.with({ key });
    return (await call(name, rest)) as T;
  }
  // Outside a flow, or inside a task (whose body may run again on a retry: no durable key to tie the child to).
  const runtime = await getRuntime();
  const run = await childRun(runtime, name, options, { id: newId(), parentFlowRunId: ctx?.flow.flowRun.id ?? null, parentTaskRunId: ctx?.task?.id ?? null });
  return (await awaitChild(runtime, run, options, ctx?.task?.signal)) as T;
}
