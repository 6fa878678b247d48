/**
 * Runs a flow function as a flow run:
 *
 *   (validate parameters) -> Pending -> Running -> Completed
 *                                               -> AwaitingRetry -> Retrying -> ...   (options.retries)
 *                                               -> Failed | TimedOut
 *   resume(id): Failed | Crashed | Cancelled -> Pending -> Running -> ...
 *   pauseFlowRun: Running -> Paused -> (resumed with input) Scheduled -> Running  (engine/pause.ts)
 *
 * Every attempt (a flow retry or a resume) re-executes the flow function with the same
 * parameters; task calls whose key already Completed return their stored result at once, so
 * only unfinished work runs again. While running, the flow run heartbeats; a run whose
 * heartbeats stop (SIGKILL, power loss) is found Crashed by `crashStaleFlowRuns`.
 */
import { FlowRunMeter } from "./resource-meter.ts";
import { newId } from "../core/ids.ts";
import {
  BatonError,
  describeError,
  FlowRunError,
  errorFromInfo,
  NonRetryableError,
  ParameterValidationError,
  RunCancelledError,
  RunNotFoundError,
  RunTimeoutError,
  type ErrorInfo,
} from "../core/errors.ts";
import type { CompiledFlowOptions, Hook } from "../core/options.ts";
import { FlowRunSuspendedError, PauseEndedError } from "../core/flow-run-inputs.ts";
import { retryDelayFor } from "../core/retry-policy.ts";
import { randomRunName } from "../core/run-names.ts";
import { findNonJson, JSON_KINDS, jsonPreview, MAX_JSON_DEPTH } from "../core/json-values.ts";
import { makeState, type State } from "../core/states.ts";
import type { FlowRun } from "../store/types.ts";
import { refusalError } from "../store/refusal.ts";
import { FlowRunState } from "./flow-run-state.ts";
import { engineContext } from "./run-context.ts";
import { createRunLogger } from "./run-logger.ts";
import { installPrintCapture } from "./print-capture.ts";
import { processWide } from "./process-wide.ts";
import type { Runtime } from "./runtime.ts";
import { sleepUntil, withTimeout } from "./timing.ts";
import { noteRetry, withFlowRunSpan } from "./run-spans.ts";
import { tracing } from "../telemetry/tracing.ts";
import { trace } from "@opentelemetry/api";

export interface FlowDefinition {
  fn: (params?: any) => unknown;
  options: CompiledFlowOptions;
  /** `/path/to/module.ts:flowName`, recorded on each run so `baton flow-run retry` finds the code. */
  entrypoint: string | null;
}

/** What `flow.run()` returns: the run's id, final state and (when Completed) its result. */
export interface FlowRunOutcome<R> {
  id: string;
  name: string;
  state: State;
  result: R | undefined;
  error: ErrorInfo | null;
}

/**
 * Flow runs executing in this process, so a signal can stop them all — also those started by
 * another copy of Baton loaded in it (process-wide.ts).
 */
const activeRuns = processWide("flow-runs", () => new Set<FlowRunState>(), (value): value is Set<FlowRunState> => value instanceof Set);

/** Stops every flow run of this process as cancelled (a worker's SIGTERM). */
export function cancelActiveRuns(reason: string): number {
  for (const state of activeRuns) {
    state.cancelled = true;
    if (!state.controller.signal.aborted) state.controller.abort(new RunCancelledError(reason));
  }
  return activeRuns.size;
}

/** A child flow call: its key in the parent flow run and the child run an earlier attempt made under it. */
export interface ChildCall {
  key: string;
  prior: FlowRun | undefined;
  /** Made at the call, so that child runs' ids sort in call order. */
  id: string;
}

export async function startFlowRun<R>(
  runtime: Runtime,
  def: FlowDefinition,
  rawParams: unknown,
  parent: { flowRunId: string; taskRunId: string | null } | null,
  child: ChildCall | null = null,
  /** Versions the run reads as its own before it starts (a re-run's: its task runs' unpinned reads resolve to them). */
  pins: readonly { key: string; version: string }[] = [],
): Promise<FlowRunOutcome<R>> {
  checkParamsShape(def.options.name, rawParams);
  const { params, invalid } = prepareParams(def, rawParams);
  if (child?.prior && invalid === null) {
    // Durable child flows: an earlier attempt of the parent made this call already. Reuse its
    // run (a Completed one returns its stored result; a failed one resumes, reusing its own
    // finished tasks) — unless the call changed, which means the parent's code changed.
    const prior = child.prior;
    if (prior.flowName === def.options.name && JSON.stringify(prior.parameters) === JSON.stringify(params)) return resumeFlowRun<R>(runtime, def, prior.id);
    createRunLogger(runtime, { flowRunId: parent!.flowRunId, taskRunId: parent!.taskRunId, label: `Flow run '${def.options.name}'` }).warn(
      `child flow call ${child.key} made run ${prior.id} in an earlier attempt with other parameters; starting a new child run`,
    );
  }
  const flowRun = await runtime.store.createFlowRun({
    id: child?.id ?? newId(),
    flowName: def.options.name,
    name: randomRunName(),
    parentFlowRunId: parent?.flowRunId ?? null,
    parentTaskRunId: parent?.taskRunId ?? null,
    parameters: params,
    tags: def.options.tags,
    version: def.options.version,
    entrypoint: def.entrypoint,
    state: makeState("Pending"),
  });
  if (invalid !== null) return refuseParameters(runtime, flowRun, invalid);
  if (pins.length > 0) {
    try {
      await runtime.store.recordAssetReads({ flowRunId: flowRun.id, taskRunId: null, reads: [...pins] });
    } catch (error) {
      const { message, name } = describeError(error);
      return refuseParameters(runtime, flowRun, `the data versions it was to re-run on cannot be read: ${message}`, name);
    }
  }
  return execute<R>(runtime, def, flowRun, params, 1, false);
}

/** The parameters a run stores and gets, or why it must not run. */
function prepareParams(def: FlowDefinition, rawParams: unknown): { params: object; invalid: string | null } {
  let params = (rawParams ?? {}) as object;
  // Checked before the schema: a schema may turn JSON into richer values (a string into a Date),
  // which it does again from the stored JSON on resume.
  const nonJson = findNonJson(params, "params");
  if (nonJson) return { params: jsonPreview(params) as object, invalid: `${nonJson.path} is ${nonJson.what}; flow parameters must be JSON (${JSON_KINDS}) nested at most ${MAX_JSON_DEPTH} levels deep` };
  if (def.options.params) {
    const parsed = def.options.params.safeParse(params);
    if (!parsed.success) return { params, invalid: `invalid parameters for flow "${def.options.name}": ${parsed.error.message}` };
    params = parsed.data as object;
  }
  return { params, invalid: null };
}

/** Ends a run that has not started Failed for its parameters (or its inputs), running no task. */
async function refuseParameters<R>(runtime: Runtime, flowRun: FlowRun, message: string, errorName = ParameterValidationError.name): Promise<FlowRunOutcome<R>> {
  const failed = makeState("Failed", { message });
  const error: ErrorInfo = { name: errorName, message };
  const set = await runtime.store.setFlowRunState(flowRun.id, failed, { error });
  if (!set.accepted) return outcomeOf(set.run);
  const logger = createRunLogger(runtime, { flowRunId: flowRun.id, taskRunId: null, label: `Flow run '${flowRun.name}'` });
  logger.error(message);
  await runtime.batcher.drain(flowRun.id).catch(() => undefined); // the outcome is stored; a lost log line must not hide it
  return { id: flowRun.id, name: flowRun.name, state: failed, result: undefined, error };
}

export async function resumeFlowRun<R>(
  runtime: Runtime,
  def: FlowDefinition,
  id: string,
  options: {
    claimedBy?: string;
    /** The stored parameters with `{{ variables.x }}` resolved (a worker's runs); a rejection ends a new run Failed. */
    resolveParameters?: (stored: unknown) => Promise<unknown>;
    /** The run as the caller read it a moment ago (a worker's warm process): not read again. */
    current?: FlowRun;
  } = {},
): Promise<FlowRunOutcome<R>> {
  let flowRun = options.current ?? (await runtime.store.getFlowRun(id));
  if (!flowRun) throw new RunNotFoundError("flow run", id);
  if (flowRun.flowName !== def.options.name)
    throw new BatonError(`flow run ${id} belongs to flow "${flowRun.flowName}", not "${def.options.name}"; resume it with that flow`);
  // A worker's run starts only while it is still the Pending run that worker claimed: one
  // cancelled (or crashed and claimed by another worker) since must not be revived here.
  if (options.claimedBy !== undefined && (flowRun.state.type !== "PENDING" || flowRun.workerId !== options.claimedBy))
    return { id, name: flowRun.name, state: flowRun.state, result: undefined, error: flowRun.error };
  if (flowRun.state.type === "RUNNING" || flowRun.state.type === "CANCELLING") {
    await runtime.store.crashStaleFlowRuns(Date.now(), { onlyId: id });
    flowRun = (await runtime.store.getFlowRun(id))!;
    if (flowRun.state.type === "RUNNING" || flowRun.state.type === "CANCELLING") {
      const ago = flowRun.heartbeatAt ? `${Math.round((Date.now() - flowRun.heartbeatAt) / 1000)} s ago` : "never";
      throw new BatonError(`flow run ${id} is still ${flowRun.state.name} (last heartbeat ${ago}); wait for it to finish or cancel it first`);
    }
  }
  if (flowRun.state.type === "COMPLETED") {
    const result = flowRun.resultId ? ((await runtime.results.load(flowRun.resultId)) as R) : undefined;
    return { id, name: flowRun.name, state: flowRun.state, result, error: null };
  }
  // Its stored parameters are not the ones it was given (they were not JSON) or never were valid.
  if (flowRun.error?.name === ParameterValidationError.name)
    throw new BatonError(`flow run ${id} was refused its parameters (${flowRun.error.message}); start a new run with valid parameters instead of resuming it`);
  let params: unknown = flowRun.parameters;
  if (options.resolveParameters) {
    try {
      params = await options.resolveParameters(params);
    } catch (error) {
      const message = `its parameters could not be resolved: ${describeError(error).message}`;
      if (flowRun.state.type === "PENDING" || flowRun.state.type === "SCHEDULED") return refuseParameters(runtime, flowRun, message);
      throw new BatonError(`flow run ${id} cannot be resumed: ${message}`);
    }
  }
  if (def.options.params) {
    const parsed = def.options.params.safeParse(params);
    if (!parsed.success) {
      const message = `invalid parameters for flow "${def.options.name}": ${parsed.error.message}`;
      // A run created elsewhere (the API, a schedule) that never started ends Failed, as a new
      // one would; a run that ran before keeps its state (the schema changed since).
      if (flowRun.state.type === "PENDING" || flowRun.state.type === "SCHEDULED") return refuseParameters(runtime, flowRun, message);
      throw new BatonError(`flow run ${id} cannot be resumed: its stored parameters no longer pass the schema: ${message}`);
    }
    params = parsed.data;
  }
  const runCount = flowRun.runCount + 1;
  // A run created elsewhere (the API, a schedule) and claimed by a worker is Pending already.
  let resumed = { run: flowRun };
  if (flowRun.state.type !== "PENDING") {
    const set = await runtime.store.setFlowRunState(id, makeState("Pending", { message: `resuming (run ${runCount})` }));
    if (!set.accepted) throw refusalError(id, makeState("Pending"), set);
    resumed = set;
  }
  return execute<R>(runtime, def, resumed.run, params, runCount, true);
}

function checkParamsShape(flowName: string, params: unknown): void {
  if (params === undefined || params === null) return;
  if (typeof params !== "object" || Array.isArray(params))
    throw new TypeError(`flow "${flowName}" takes one parameters object (or none), got ${Array.isArray(params) ? "an array" : typeof params}`);
}

function execute<R>(runtime: Runtime, def: FlowDefinition, flowRun: FlowRun, params: unknown, runCount: number, resumed: boolean): Promise<FlowRunOutcome<R>> {
  if (tracing.enabled) return withFlowRunSpan(flowRun, runCount, () => executeAttempts<R>(runtime, def, flowRun, params, runCount, resumed));
  return executeAttempts<R>(runtime, def, flowRun, params, runCount, resumed);
}

async function executeAttempts<R>(runtime: Runtime, def: FlowDefinition, flowRun: FlowRun, params: unknown, runCount: number, resumed: boolean): Promise<FlowRunOutcome<R>> {
  const logger = createRunLogger(runtime, { flowRunId: flowRun.id, taskRunId: null, label: `Flow run '${flowRun.name}'` });
  if (def.options.logPrints) installPrintCapture();
  const state = new FlowRunState(runtime, flowRun, def.options, logger);
  const detachFromParent = followParent(state, engineContext.getStore()?.flow ?? null);
  // A resumed run that started before may have task runs of an earlier start (even one that never
  // said it started, e.g. a run set Running through the API: every start counts in runCount);
  // their keys keep their rows. One that never started has none: its start skips those reads.
  if (resumed && flowRun.runCount > 0) await state.reloadPrior();

  const started = await runtime.store.setFlowRunState(flowRun.id, makeState("Running"), { runCount, heartbeatMs: runtime.heartbeatMs });
  if (!started.accepted) throw refusalError(flowRun.id, makeState("Running"), started);
  state.flowRun = started.run;
  state.meter = new FlowRunMeter(started.run.resources ?? null);
  // One beat at a time: a beat riding out a database restart is not joined by the next ones.
  let beating = false;
  const heartbeat = setInterval(() => {
    if (beating) return;
    beating = true;
    runtime.store
      .heartbeatFlowRun(flowRun.id, Date.now())
      .then((current) => {
        // Cancelled from elsewhere (the API, the CLI): stop the work; the run ends Cancelled.
        if ((current === "CANCELLING" || current === "CANCELLED") && !state.controller.signal.aborted) {
          logger.warn("Cancellation requested: stopping the flow run");
          state.cancelled = true;
          state.controller.abort(new RunCancelledError(`flow run ${flowRun.id} was cancelled`));
        }
        // Paused from elsewhere (the dashboard's Pause), not by its own pauseFlowRun: stop the
        // work as a suspended run does; resumed, it is Scheduled and a worker starts it again,
        // its finished task runs reused.
        if (current === "PAUSED" && !state.waitingForInput && !state.controller.signal.aborted) {
          logger.warn("Paused from outside the run: stopping it until it is resumed");
          state.pausedFromOutside = true;
          state.controller.abort(new BatonError(`flow run ${flowRun.id} was paused`));
        }
      })
      .catch((error: unknown) => logger.warn(`heartbeat failed: ${(error as Error).message}`))
      .finally(() => (beating = false));
  }, runtime.heartbeatMs);
  heartbeat.unref();
  logger.info(`Beginning flow run '${flowRun.name}' for flow '${def.options.name}'${runCount > 1 ? ` (run ${runCount}, ${state.prior.size} task runs known)` : ""}`);

  activeRuns.add(state);
  try {
    for (let attempt = 1; ; attempt++) {
      if (state.cancelled) return await finishCancelled(runtime, state);
      try {
        const value = (await withTimeout(() => engineContext.run({ flow: state, task: null }, () => def.fn(params)), {
          timeoutMs: def.options.timeoutMs,
          name: `flow ${def.options.name}`,
          controller: state.controller,
          signal: state.controller.signal,
        })) as R;
        await state.settleOutstanding();
        if (state.pausedFromOutside) return await stayPaused(runtime, state);
        // failFast: a task run failed for good, so the run fails even if the flow function got over it.
        if (state.failedFast) throw state.failedFast;
        return await finishCompleted(runtime, def, state, value, attempt);
      } catch (thrown) {
        if (thrown instanceof FlowRunSuspendedError) return await suspend(runtime, state, thrown);
        if (state.pausedFromOutside) {
          await state.settleOutstanding();
          return await stayPaused(runtime, state);
        }
        // Stop the attempt's remaining task runs: they end Failed instead of running on unseen.
        if (!state.controller.signal.aborted) state.controller.abort(new BatonError(`flow run ${flowRun.id} failed: ${describeError(thrown).message}`));
        await state.settleOutstanding();
        if (state.cancelled) return await finishCancelled(runtime, state);
        // Stopped by failFast: whatever the flow function threw then (a FailFastError, most
        // likely), the run fails with the task run's failure.
        const error = state.failedFast ?? thrown;
        // Ended by someone else while it waited for input (a pause timeout): that end stands.
        if (error instanceof PauseEndedError) return outcomeOf((await runtime.store.getFlowRun(flowRun.id)) ?? state.flowRun);
        const delay = await flowRetryDelay(def.options, error, attempt, logger);
        if (delay === null) return await finishFailed(runtime, def, state, error, attempt);
        state.meter.attemptRetried();
        const awaiting = makeState("AwaitingRetry", { scheduledAt: Date.now() + delay, message: describeError(error).message });
        await runtime.store.setFlowRunState(flowRun.id, awaiting, { error: describeError(error) });
        logger.warn(`Flow run failed on attempt ${attempt}: ${describeError(error).message}; retrying in ${delay} ms`);
        if (tracing.enabled) noteRetry(trace.getActiveSpan(), attempt, error, delay);
        await runHooks(def.options.onRetry, def, state, awaiting, attempt, error);
        await sleepUntil(awaiting.scheduledAt!);
        const retrying = await runtime.store.setFlowRunState(flowRun.id, makeState("Retrying"));
        if (!retrying.accepted) return outcomeOf(retrying.run);
        state.newAttempt();
        await state.reloadPrior();
      }
    }
  } finally {
    detachFromParent();
    activeRuns.delete(state);
    clearInterval(heartbeat);
    await runtime.batcher.drain(flowRun.id).catch((error: unknown) => logger.error(`could not store the last run records: ${(error as Error).message}`));
  }
}

/**
 * Suspends a run that paused for input (engine/pause.ts): the task runs it started finish (their
 * results are what the resumed run reuses), its records are stored, and it moves to Paused with
 * its request. The process is then free to exit; a worker starts the run again once resumed.
 */
async function suspend<R>(runtime: Runtime, state: FlowRunState, suspended: FlowRunSuspendedError): Promise<FlowRunOutcome<R>> {
  await state.settleOutstanding();
  await runtime.batcher.drain(state.flowRun.id);
  const paused = await runtime.store.pauseFlowRun(state.flowRun.id, suspended.request);
  if (!paused.accepted) {
    if (paused.run.state.type === "CANCELLING") return finishCancelled(runtime, state);
    state.logger.error(`flow run could not be paused: ${paused.reason}`);
    return outcomeOf(paused.run);
  }
  state.logger.info(`Suspended, waiting for input (${suspended.request.key}): resume it with \`baton flow-run resume ${state.flowRun.id} --input '{…}'\` or from the dashboard`);
  return outcomeOf(paused.run);
}

/** The outcome of a run paused from outside once its work stopped: the run as stored (Paused, or whatever came after). */
async function stayPaused<R>(runtime: Runtime, state: FlowRunState): Promise<FlowRunOutcome<R>> {
  await runtime.batcher.drain(state.flowRun.id);
  state.logger.info(`Paused: resume it with \`baton flow-run resume ${state.flowRun.id}\` or from the dashboard`);
  return outcomeOf((await runtime.store.getFlowRun(state.flowRun.id)) ?? state.flowRun);
}

/**
 * A child flow run stops with its parent's attempt: when the parent is cancelled, times out or
 * fails, the child ends Cancelled (saying why) instead of running on unseen. Returns the undo.
 */
function followParent(state: FlowRunState, parent: FlowRunState | null): () => void {
  if (!parent) return () => undefined;
  const signal = parent.controller.signal;
  const stop = () => {
    if (state.controller.signal.aborted) return;
    state.cancelled = true;
    state.cancelReason = `its parent flow run ${parent.flowRun.id} stopped: ${describeError(signal.reason).message}`;
    state.controller.abort(new RunCancelledError(state.cancelReason));
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  return () => signal.removeEventListener("abort", stop);
}

async function flowRetryDelay(options: CompiledFlowOptions, error: unknown, attempt: number, logger: { error(m: string): void }): Promise<number | null> {
  if (attempt > options.retries || error instanceof NonRetryableError) return null;
  if (options.retryIf) {
    try {
      if (!(await options.retryIf(error, attempt))) return null;
    } catch (hookError) {
      logger.error(`retryIf threw, not retrying: ${(hookError as Error).message}`);
      return null;
    }
  }
  return retryDelayFor(options.retryDelayMs, attempt, options.retryJitter);
}

async function finishCompleted<R>(runtime: Runtime, def: FlowDefinition, state: FlowRunState, value: R, attempt: number): Promise<FlowRunOutcome<R>> {
  const id = state.flowRun.id;
  let resultId: string | null = null;
  if (def.options.persistResult && value !== undefined) {
    let record;
    try {
      record = await runtime.results.save(value, `the result of flow "${def.options.name}"`);
    } catch (error) {
      return finishFailed(runtime, def, state, error, attempt);
    }
    await runtime.batcher.write([{ kind: "result", result: record }]);
    resultId = record.id;
  }
  await runtime.batcher.drain(id);
  const completed = makeState("Completed");
  const set = await runtime.store.setFlowRunState(id, completed, { resultId, error: null, resources: state.meter?.total() });
  if (!set.accepted) {
    state.logger.error(`flow run finished but could not be marked Completed: ${set.reason}`);
    return outcomeOf(set.run);
  }
  state.logger.info(`Finished in state Completed()`);
  await runHooks(def.options.onCompletion, def, state, completed, attempt, undefined, value);
  return { id, name: state.flowRun.name, state: completed, result: value, error: null };
}

async function finishFailed<R>(runtime: Runtime, def: FlowDefinition, state: FlowRunState, error: unknown, attempt: number): Promise<FlowRunOutcome<R>> {
  const info = describeError(error);
  const failed = makeState(error instanceof RunTimeoutError ? "TimedOut" : "Failed", { message: info.message });
  const set = await runtime.store.setFlowRunState(state.flowRun.id, failed, { error: info, resources: state.meter?.total() });
  state.logger.error(`Finished in state ${failed.name}('${info.message}')`);
  if (!set.accepted) return outcomeOf(set.run);
  await runHooks(def.options.onFailure, def, state, failed, attempt, error);
  return { id: state.flowRun.id, name: state.flowRun.name, state: failed, result: undefined, error: info };
}

async function finishCancelled<R>(runtime: Runtime, state: FlowRunState): Promise<FlowRunOutcome<R>> {
  await runtime.batcher.drain(state.flowRun.id).catch(() => undefined);
  const cancelled = makeState("Cancelled", { message: state.cancelReason ?? "cancelled on request" });
  const set = await runtime.store.setFlowRunState(state.flowRun.id, cancelled, { resources: state.meter?.total() });
  state.logger.warn("Finished in state Cancelled()");
  return set.accepted ? { id: state.flowRun.id, name: state.flowRun.name, state: cancelled, result: undefined, error: null } : outcomeOf(set.run);
}

function outcomeOf<R>(run: FlowRun): FlowRunOutcome<R> {
  return { id: run.id, name: run.name, state: run.state, result: undefined, error: run.error };
}

async function runHooks(hooks: readonly Hook[], def: FlowDefinition, state: FlowRunState, runState: State, attempt: number, error?: unknown, result?: unknown): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook({
        kind: "flow",
        name: def.options.name,
        runId: state.flowRun.id,
        flowRunId: state.flowRun.id,
        state: { type: runState.type, name: runState.name, message: runState.message ?? null },
        attempt,
        error,
        result,
      });
    } catch (hookError) {
      state.logger.error(`hook ${hook.name || "(anonymous)"} of flow ${def.options.name} threw: ${(hookError as Error).message}`);
    }
  }
}

/** The error `await flow()` throws for a run that did not complete. */
export function flowRunErrorOf(flowName: string, outcome: FlowRunOutcome<unknown>): FlowRunError {
  return new FlowRunError(outcome.id, flowName, outcome.state, outcome.error ? { cause: errorFromInfo(outcome.error) } : undefined);
}
