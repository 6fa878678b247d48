/**
 * Waiting for a child flow run that a worker executes — a deployment's run (`runDeployment`) or
 * an attempt of a task with `workPool` (task-jobs.ts): read it until it ends, cancel it when the
 * waiter is stopped, and load its result.
 */
import { BatonError } from "../core/errors.ts";
import { isTerminal } from "../core/states.ts";
import { cancelFlowRun } from "../services/cancel-flow-run.ts";
import type { FlowRun } from "../store/types.ts";
import type { Runtime } from "./runtime.ts";

/** How often a waiting parent reads its child: soon at first, then every 2 s. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 2000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export interface AwaitChildOptions {
  /** Stop waiting at this epoch ms: `onDeadline` says what to throw (the child goes on). */
  deadline?: number;
  onDeadline?: (current: FlowRun) => Error;
  /** Aborted: the child is cancelled (its process stops) and the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Why the child is cancelled, for its state's message. */
  cancelMessage: string;
}

/** The child `run` once it has ended (any final state). */
export async function awaitChildRun(runtime: Runtime, run: FlowRun, options: AwaitChildOptions): Promise<FlowRun> {
  const deadline = options.deadline ?? Infinity;
  let wait = FIRST_POLL_MS;
  let current = run;
  while (!isTerminal(current.state.type)) {
    if (options.signal?.aborted) {
      await cancelFlowRun(runtime.store, current.id, options.cancelMessage).catch(() => undefined);
      const reason: unknown = options.signal.reason;
      throw reason instanceof Error ? reason : new BatonError(`waiting for flow run ${current.id} was cancelled`);
    }
    if (Date.now() >= deadline) throw options.onDeadline?.(current) ?? new BatonError(`flow run ${current.id} did not end in time`);
    await sleep(Math.min(wait, deadline - Date.now()), options.signal);
    wait = Math.min(MAX_POLL_MS, wait * 2);
    current = (await runtime.store.getFlowRun(current.id)) ?? current;
  }
  return current;
}

/** The result of a Completed child run (undefined when it stored none). */
export async function childRunResult(runtime: Runtime, run: FlowRun): Promise<unknown> {
  if (!run.resultId) return undefined;
  const record = await runtime.store.getResult(run.resultId);
  if (!record) throw new BatonError(`flow run ${run.id} completed, but its result ${run.resultId} is missing (removed by retention?)`);
  return await runtime.results.decode(record);
}
