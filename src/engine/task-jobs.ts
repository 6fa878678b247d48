/**
 * Task jobs: the attempts of a task with `workPool`, executed by the workers of that pool.
 *
 * The task run stays the parent flow run's own: its cache lookup, retries, timeout, hooks and
 * result are the task runner's, as for a local task. Only the body of each attempt is
 * delegated: it becomes a child flow run on the pool (tagged TASK_JOB_TAG, no deployment),
 * claimed like any run through the pool's queue, whose process runs the task once
 * (cli/task-job.ts) and stores its result or error as the child's. The attempt's result is the
 * child's result; a Failed child's error (its class and message kept) is the attempt's error.
 *
 * Durable: a child's id is made from the task run's id and the attempt, so a resumed parent
 * finds the child its earlier attempt started (running or ended) and waits for it instead of
 * starting another. A Crashed child (its worker or process died) is the infrastructure's
 * failure, not the task's: the attempt runs again in a new child — at most
 * MAX_INFRASTRUCTURE_RERUNS times — without using the task's retries (so does one a resumed
 * parent finds Cancelled with its earlier run). Stopping the attempt (the task's timeout, the
 * parent's cancellation) cancels the child.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BatonError, errorFromInfo, FlowRunError, NonRetryableError, RunCancelledError } from "../core/errors.ts";
import { splitEntrypoint, TASK_JOB_TAG } from "../core/entrypoint.ts";
import { idForName } from "../core/ids.ts";
import { serialize } from "../core/serializer.ts";
import { makeState } from "../core/states.ts";
import type { FlowRun } from "../store/types.ts";
import { awaitChildRun, childRunResult } from "./child-runs.ts";
import type { FlowRunState } from "./flow-run-state.ts";
import type { TaskRunInfo } from "./run-context.ts";
import type { CompiledTaskOptions } from "../core/options.ts";

/** What of a task's definition a task job needs (task-runner.ts's TaskDefinition has it). */
interface TaskJobSource {
  options: CompiledTaskOptions;
  moduleUrl: string | null;
  definedAs: string;
}

/** How many times an attempt whose child crashed runs again in a new child. */
export const MAX_INFRASTRUCTURE_RERUNS = 3;

/** A task job's parameters: which task, and its arguments (serialized: Dates, Maps… survive). */
export interface TaskJobParameters {
  task: string;
  args: string;
}

/** Checked once per flow run and pool: the pool and queue exist (a run in a missing one would wait forever). */
const checkedPlacements = new WeakMap<FlowRunState, Map<string, Promise<void>>>();

/** Runs attempt `info.attempt` of task run `info` on a worker of the task's pool; its result. */
export async function runTaskJob(flow: FlowRunState, def: TaskJobSource, args: unknown[], info: TaskRunInfo): Promise<unknown> {
  const workPool = def.options.workPool!;
  const entrypoint = taskJobEntrypoint(def, flow.flowRun.entrypoint);
  await checkPlacement(flow, def);
  const base = `task-job:${info.id}:${info.attempt}`;
  for (let rerun = 0; ; rerun++) {
    const id = idForName(rerun === 0 ? base : `${base}:${rerun}`);
    let child = await flow.runtime.store.getFlowRun(id);
    // Cancelled with an earlier attempt of the parent (which was cancelled, and is now resumed):
    // this attempt runs again, as a local task's would.
    if (child?.state.type === "CANCELLED" && rerun < MAX_INFRASTRUCTURE_RERUNS) {
      flow.logger.info(`Task run ${info.name} (${info.taskKey}) attempt ${info.attempt}: its flow run ${id} was cancelled with an earlier run of this flow; running the attempt again on pool "${workPool}"`);
      continue;
    }
    if (child) flow.logger.info(`Task run ${info.name} (${info.taskKey}) attempt ${info.attempt}: waiting for its flow run ${id} on pool "${workPool}", started before this resume`);
    else child = await createTaskJob(flow, def, args, info, id, entrypoint, rerun);
    const ended = await awaitChildRun(flow.runtime, child, { signal: info.signal, cancelMessage: `its task run ${info.id} (${info.name}) was stopped` });
    switch (ended.state.type) {
      case "COMPLETED":
        return childRunResult(flow.runtime, ended);
      case "CRASHED":
        if (rerun < MAX_INFRASTRUCTURE_RERUNS) {
          flow.logger.warn(
            `Task run ${info.name} (${info.taskKey}) attempt ${info.attempt}: its flow run ${ended.id} on pool "${workPool}" crashed (${ended.state.message ?? "its worker or process died"}); running the attempt again on the pool (${rerun + 1} of ${MAX_INFRASTRUCTURE_RERUNS}, the task's retries untouched)`,
          );
          continue;
        }
        throw new BatonError(`task "${info.name}" attempt ${info.attempt}: its flow run on pool "${workPool}" crashed ${rerun + 1} times (last ${ended.id}: ${ended.state.message ?? "no message"})`);
      case "CANCELLED":
        throw new RunCancelledError(`task "${info.name}" attempt ${info.attempt}: its flow run ${ended.id} on pool "${workPool}" was cancelled`);
      default:
        // Failed or TimedOut: the task's own error, its class and message kept, so retryIf,
        // NonRetryableError and the task's final state treat it as they treat a local failure.
        throw ended.error ? errorFromInfo(ended.error) : new FlowRunError(ended.id, ended.flowName, ended.state);
    }
  }
}

async function createTaskJob(flow: FlowRunState, def: TaskJobSource, args: unknown[], info: TaskRunInfo, id: string, entrypoint: string, rerun: number): Promise<FlowRun> {
  const parameters: TaskJobParameters = { task: def.definedAs, args: serialize(args, `the arguments of task "${info.name}" (sent to pool "${def.options.workPool}")`) };
  const created = await flow.runtime.store.createFlowRun({
    id,
    flowName: flow.flowRun.flowName,
    name: `${info.taskKey}-attempt-${info.attempt}${rerun ? `-rerun-${rerun}` : ""}`,
    parentFlowRunId: flow.flowRun.id,
    parentTaskRunId: info.id,
    parameters,
    tags: [TASK_JOB_TAG],
    version: flow.flowRun.version,
    entrypoint,
    workPool: def.options.workPool,
    workQueue: def.options.workQueue,
    state: makeState("Scheduled", { scheduledAt: Date.now(), message: `attempt ${info.attempt} of task run ${info.id} (${info.name})` }),
  });
  flow.logger.info(`Task run ${info.name} (${info.taskKey}) attempt ${info.attempt} runs as flow run ${id} on pool "${def.options.workPool}"`);
  return created;
}

/**
 * `file:taskName`, the file relative to this process's working directory when it lies under it:
 * a worker resolves it against its own (or the job variable cwd), as a deployment's entrypoint.
 * Absolute when the flow run's own entrypoint is: the server compares the two (a worker key may
 * only place tasks of modules in its run's entrypoint folder).
 */
function taskJobEntrypoint(def: TaskJobSource, flowEntrypoint: string | null): string {
  const url = def.moduleUrl;
  const file = url?.startsWith("file:") ? fileURLToPath(url.replace(/\?.*$/, "")) : null;
  if (!file || !fs.existsSync(file))
    throw new NonRetryableError(
      `task "${def.options.name}" has workPool "${def.options.workPool}", but the module that defines it is unknown${file ? ` (${file} does not exist)` : ""}: a worker must import it to run the task; define the task at the top level of a module file`,
    );
  const relative = path.relative(process.cwd(), file);
  let absolute = false;
  try {
    absolute = flowEntrypoint !== null && path.isAbsolute(splitEntrypoint(flowEntrypoint).file);
  } catch {
    // not file:name (a run made by hand): a relative path, as before
  }
  const stored = absolute || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative.split(path.sep).join("/");
  return `${stored}:${def.definedAs}`;
}

function checkPlacement(flow: FlowRunState, def: TaskJobSource): Promise<void> {
  const { workPool, workQueue } = def.options;
  let checked = checkedPlacements.get(flow);
  if (!checked) checkedPlacements.set(flow, (checked = new Map()));
  const key = `${workPool}\0${workQueue ?? ""}`;
  let check = checked.get(key);
  if (!check) {
    check = (async () => {
      const pool = await flow.runtime.orchestration.getWorkPool(workPool!);
      if (!pool) throw new NonRetryableError(`task "${def.options.name}": work pool "${workPool}" (task option workPool) does not exist; create it with \`baton work-pool create ${workPool}\` and start its workers with \`baton worker start --pool ${workPool}\``);
      if (workQueue !== null && !pool.queues.some((q) => q.name === workQueue))
        throw new NonRetryableError(`task "${def.options.name}": work pool "${workPool}" has no queue "${workQueue}" (task option workQueue); its queues: ${pool.queues.map((q) => q.name).join(", ") || "none"}`);
    })();
    checked.set(key, check);
    check.catch(() => checked.delete(key));
  }
  return check;
}
