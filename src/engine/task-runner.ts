/**
 * Runs one task call inside a flow run, as a task run:
 *
 *   Pending -> (wait for upstream futures) -> cache hit? -> Completed(Cached)
 *           -> (wait for a concurrency slot) -> Running -> Completed
 *                                                      -> AwaitingRetry -> Retrying -> ...
 *                                                      -> Failed | TimedOut
 *   any unfinished state -> Cancelled   when the flow run stops (another task failed it, it
 *                                       timed out, it was cancelled) before this run finished
 *
 * Every task run ends in a final state before its future settles, so none outlives the attempt
 * of its flow run. Durable resume: each call gets a stable key (task name + call index, or
 * `key`); when the flow run is resumed or retried, a key whose task run already Completed
 * returns its stored result without running again, and any other key runs again on its
 * existing row. Writes go through the batcher: Pending/Running are posted without waiting, the
 * final state is awaited, so the future settles only after the outcome is committed.
 */
import { newId } from "../core/ids.ts";
import { inputsCacheKey } from "../core/cache-key.ts";
import { describeError, FailFastError, NonRetryableError, RunCancelledError, RunTimeoutError, SerializationError, TaskRunError, BatonError } from "../core/errors.ts";
import type { CompiledTaskOptions, Hook, HookContext } from "../core/options.ts";
import { retryDelayFor } from "../core/retry-policy.ts";
import { addAttempt, type RunResources } from "../core/resources.ts";
import { isTerminal, makeState, type State } from "../core/states.ts";
import { decideTransition } from "../core/transitions.ts";
import type { ResultRecord, TaskRun, WriteOp } from "../store/types.ts";
import type { PreparedResult } from "./result-store.ts";
import type { FlowRunState } from "./flow-run-state.ts";
import { forgetTaskReads, hasTaskAssets, resetTaskAssets, resolveReads, settleTaskAssets } from "./assets.ts";
import { collectFutures, resolveFutures, TaskFuture } from "./futures.ts";
import { engineContext, type TaskRunInfo } from "./run-context.ts";
import { runTaskJob } from "./task-jobs.ts";
import { sleepUntil, withTimeout } from "./timing.ts";
import { receiveThreadValues } from "./thread-values.ts";
import { acquireHeld, type HeldSlots } from "./concurrency.ts";
import type { Semaphore } from "./semaphore.ts";
import { AttemptMeter } from "./resource-meter.ts";
import { endRunSpan, noteRetry, startTaskRunSpan } from "./run-spans.ts";
import { tracing } from "../telemetry/tracing.ts";
import { carrierOf } from "../telemetry/trace-context.ts";
import { context, trace, type Context, type Span } from "@opentelemetry/api";

export interface TaskDefinition {
  fn: (...args: any[]) => unknown;
  options: CompiledTaskOptions;
  /** Source text, part of the `"inputs"` cache key. */
  source: string;
  /** The module that defined the task, for the thread runner. */
  moduleUrl: string | null;
  /**
   * The name the task was defined with (`task(fn, { name })`): a thread finds the function
   * under it after importing the module, also for a `t.with({ name })` copy made at run time.
   */
  definedAs: string;
}

export interface SubmitExtras {
  waitFor?: readonly unknown[];
}

/** Submits a task call in the current flow run and returns its future. */
export function submitTask<R>(flow: FlowRunState, def: TaskDefinition, args: unknown[], extras: SubmitExtras = {}): TaskFuture<R> {
  const name = def.options.name;
  const key = flow.nextTaskKey(name, def.options.key);
  const prior = flow.takePrior(key);
  // The same key under another task's name: the flow's code changed since that attempt, so its
  // result is not this task's (an explicit `key` reused by another task, say).
  const renamed = prior !== undefined && prior.taskName !== name;
  if (renamed)
    flow.logger.warn(
      `Task key "${key}" belonged to task "${prior.taskName}" in an earlier attempt and now to "${name}": the flow's code changed, so "${name}" runs instead of reusing that task run's result`,
    );

  if (prior && !renamed && prior.state.type === "COMPLETED" && prior.resultId) {
    // Finished in an earlier attempt: reuse the stored result, run nothing.
    const promise = flow.runtime.results.load(prior.resultId).then((value) => {
      flow.noteResult(value, prior.id);
      return value as R;
    });
    const future = new TaskFuture<R>(prior.id, name, key, promise, prior.state);
    flow.track(promise);
    return future;
  }

  const nested = engineContext.getStore()?.task != null;
  const call = new TaskCall<R>(flow, def, args, extras, key, prior, nested);
  if (nested) flow.enterNested();
  else if (flow.hasRoom()) flow.enter();
  else {
    flow.enqueue(call);
    return call.future;
  }
  call.start();
  return call.future;
}

/** One Pending state per millisecond for new calls: a fan-out's queued calls share it (states are never changed in place). */
let lastPending: State | null = null;
function pendingNow(): State {
  const now = Date.now();
  if (lastPending?.timestamp !== now) lastPending = makeState("Pending", { timestamp: now });
  return lastPending;
}

/**
 * A task call from its submission to the end of its run. A call that waits in its flow run's
 * admission window is this object, its future and the future's promise, nothing more (a
 * million queued calls of a fan-out hold a million of these): its run's state is made when it
 * starts, and the future's promise is settled directly by the run, without promises between.
 */
class TaskCall<R> {
  /** Its id, key and Pending state are the future's (one copy of each per call). */
  readonly future: TaskFuture<R>;
  /** With tracing on: the context the call was made in (its span's parent, also for a call that waited in the window), and its span once started. */
  private readonly traceParent: Context | undefined = tracing.enabled ? context.active() : undefined;
  span: Span | undefined;
  private resolve!: (value: R) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly flow: FlowRunState,
    private readonly def: TaskDefinition,
    private readonly args: unknown[],
    private readonly extras: SubmitExtras,
    key: string,
    private readonly prior: TaskRun | undefined,
    readonly nested: boolean,
  ) {
    const promise = new Promise<R>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Observed only if it fails (see settle): a handler on every future costs a promise each.
    this.future = new TaskFuture<R>(prior?.id ?? newId(), def.options.name, key, promise, prior ? makeState("Pending") : pendingNow(), false);
  }

  /** Starts the run (the window, or the parent task run, counts it already). */
  start(): void {
    const execution = this.execution();
    if (this.traceParent === undefined) return execution.start(this.rerun());
    const runner = this.def.options.runner ?? this.flow.options.taskRunner;
    this.span = startTaskRunSpan(this.traceParent, { id: this.future.id, taskKey: this.future.taskKey, flowRunId: this.flow.flowRun.id }, this.def.options.name, runner);
    // Its run, and so its function, run with its span active: a user's spans nest under it.
    context.with(trace.setSpan(this.traceParent, this.span), () => execution.start(this.rerun()));
  }

  /** Settles the future once the run ended (its final state committed) and frees its room. */
  settle(ok: boolean, outcome: unknown): void {
    if (this.span) endRunSpan(this.span, "task_run", this.future.currentState);
    if (ok) this.resolve(outcome as R);
    else {
      // A failed future nobody awaits must not crash the process as an unhandled rejection:
      // its failure is recorded in the store and reflected in the flow's outcome.
      this.future.promise.catch(ignore);
      this.reject(outcome);
    }
    if (this.nested) this.flow.leaveNested();
    else this.flow.leave();
  }

  private execution(): TaskExecution<R> {
    const { flow, def, prior } = this;
    // Still the call's Pending state: the future's state moves only once its run starts.
    const pending = this.future.currentState;
    const run: TaskRun = prior
      ? { ...prior, taskName: def.options.name, tags: def.options.tags, error: null, resultId: null, endTime: null }
      : {
          id: this.future.id,
          flowRunId: flow.flowRun.id,
          taskKey: this.future.taskKey,
          taskName: def.options.name,
          state: pending,
          runCount: 0,
          cacheKey: null,
          resultId: null,
          error: null,
          tags: def.options.tags,
          createdAt: pending.timestamp,
          startTime: null,
          endTime: null,
        };
    return new TaskExecution<R>(flow, def, run, this.args, this.extras, prior === undefined, this);
  }

  /** The run's first state: Pending, or leaving Completed (forced, the only way out of it) with the reason. */
  private rerun(): State {
    const prior = this.prior;
    if (prior?.state.type !== "COMPLETED") return this.future.currentState;
    const renamed = prior.taskName !== this.def.options.name;
    return makeState("Pending", { message: renamed ? `re-running: an earlier attempt ran task "${prior.taskName}" under this key` : "re-running: its result was not persisted" });
  }
}

const ignore = (): void => undefined;
const NONE: TaskFuture<unknown>[] = [];

/** Whether any argument may hold a future (an object or array); most mapped calls get plain values. */
function hasFutures(args: readonly unknown[]): boolean {
  for (const arg of args) if (arg !== null && typeof arg === "object") return true;
  return false;
}

/** Marks the end of a run whose outcome is already given to its call (see `complete`). */
const SETTLED = Symbol("settled");

class TaskExecution<R> {
  private readonly upstream: TaskFuture<unknown>[];
  private readonly waitFor: TaskFuture<unknown>[];
  private stored: boolean;
  /**
   * Started by another task run (a task calling a task): it runs under its parent's slot of
   * the flow's `maxConcurrency` and admission window. Taking a slot of its own would deadlock
   * once every slot is held by a parent waiting for its child, as Prefect runs a nested call
   * inside its parent.
   */
  private readonly nested: boolean;
  constructor(
    private readonly flow: FlowRunState,
    private readonly def: TaskDefinition,
    private run: TaskRun,
    private readonly args: unknown[],
    extras: SubmitExtras,
    isNew: boolean,
    private readonly call: TaskCall<R>,
  ) {
    this.stored = !isNew;
    this.nested = call.nested;
    this.upstream = hasFutures(args) ? collectFutures(args) : NONE;
    this.waitFor = extras.waitFor && extras.waitFor.length > 0 ? collectFutures([...extras.waitFor]) : NONE;
  }

  private get name(): string {
    return this.def.options.name;
  }

  /** Moves the run to `next` (checked by the orchestration rules) and returns the writes. */
  private transition(next: State, fields: Partial<TaskRun> = {}, force = false): WriteOp[] {
    // A new task run has no state yet: its first transition is a creation.
    const decision = decideTransition({ from: this.stored ? this.run.state : null, to: next, force });
    if (decision.kind !== "accept")
      throw new BatonError(`task run ${this.run.id} (${this.name}): ${decision.reason}`);
    this.run = { ...this.run, ...fields, state: next };
    this.stored = true;
    this.call.future.currentState = next;
    const op: WriteOp = { kind: "taskRun", taskRun: this.run };
    if (force) op.force = true;
    if (this.def.options.emitEvents) op.emitEvents = true;
    return [
      op,
      { kind: "state", state: { ...next, flowRunId: this.run.flowRunId, taskRunId: this.run.id } },
    ];
  }

  /** Records the run Pending (leaving Completed forced: a re-run of a finished key) and starts it. */
  start(pending: State): void {
    const ops = this.transition(pending, {}, this.stored && this.run.state.type === "COMPLETED");
    const producers = this.flow.producersOf(this.args);
    if (this.upstream.length > 0 || producers.length > 0) {
      const dataUpstream = new Set([...this.upstream.map((f) => f.id), ...producers]);
      dataUpstream.delete(this.run.id);
      for (const id of dataUpstream) ops.push({ kind: "dependency", dependency: { taskRunId: this.run.id, upstreamTaskRunId: id, kind: "data" } });
    }
    for (const up of this.waitFor) ops.push({ kind: "dependency", dependency: { taskRunId: this.run.id, upstreamTaskRunId: up.id, kind: "wait" } });
    this.flow.runtime.batcher.post(ops);
    this.runToEnd().then(this.ended, this.escaped);
  }

  /** runToEnd finished: with the run's value, or with SETTLED when `complete` settled the call. */
  private readonly ended = (value: R | typeof SETTLED): void => {
    if (value !== SETTLED) this.call.settle(true, value);
  };

  /** runToEnd threw; whatever happened, the run does not stay unfinished. */
  private readonly escaped = (error: unknown): void => {
    // A final state was proposed: fail() threw its TaskRunError, or the write of the final
    // state failed (the flow's next attempt finds the row unfinished and closes it).
    if (isTerminal(this.run.state.type)) return this.call.settle(false, error);
    // Anything else escaped with the run unfinished (a refused transition, a store error while
    // waiting): end it here, so no task run outlives the attempt of its flow run.
    this.fail(this.unlessStopped(makeState("Failed", { message: describeError(error).message })), error, this.attempt).catch((final: unknown) => this.call.settle(false, final));
  };

  /** The attempt in progress (1-based), for hooks and the final state. */
  private attempt = 0;
  /** What its attempts used so far (resource-meter.ts), written with each state after the first attempt. */
  private resources: RunResources | null = null;

  private async runToEnd(): Promise<R | typeof SETTLED> {
    // Started after its flow run stopped (a call that waited in the window): it never runs.
    if (this.flow.controller.signal.aborted) return this.fail(this.stoppedState(), this.flow.controller.signal.reason, 0);
    let args = this.args;
    if (this.upstream.length > 0 || this.waitFor.length > 0) {
      try {
        await Promise.all(this.waitFor.map((f) => f.promise));
        args = (await resolveFutures(this.args)) as unknown[];
      } catch (error) {
        const upstreamName = error instanceof TaskRunError ? `"${error.taskName}" (${error.taskRunId})` : "an upstream task";
        return this.fail(this.unlessStopped(makeState("Failed", { message: `upstream task run ${upstreamName} did not complete` })), error, 0);
      }
    }

    let cacheKey: string | null = null;
    if (this.def.options.cacheKey) {
      try {
        cacheKey = this.computeCacheKey(args);
      } catch (error) {
        return this.fail(makeState("Failed", { message: `cannot compute the cache key: ${(error as Error).message}` }), error, 0);
      }
      if (cacheKey) {
        const cached = await this.fromCache(cacheKey);
        if (cached.hit) return cached.value as R;
      }
    }

    // Declared reads resolve once, before the first attempt: every attempt reads the same versions.
    if (this.def.options.reads.length > 0) {
      try {
        await resolveReads(this.flow, this.run.id, this.def.options.reads);
      } catch (error) {
        return this.fail(this.unlessStopped(makeState("Failed", { message: `its asset reads cannot be resolved: ${describeError(error).message}` })), error, 0);
      }
    }

    const semaphore = this.nested ? null : this.flow.semaphore;
    let holdsSlot = false;
    if (semaphore) {
      try {
        await semaphore.acquire(this.flow.controller.signal);
      } catch (stopped) {
        // The flow run stopped while this run waited for a slot: it never starts.
        return this.fail(this.stoppedState(), stopped, 0);
      }
      holdsSlot = true;
    }
    // Tag limits: a task tagged "db" waits (Pending) for a slot of the limit "db", if one exists.
    let tagSlots: HeldSlots | null = null;
    let threadSlots: Semaphore | null = null;
    try {
      if (this.def.options.tags.length > 0) {
        try {
          tagSlots = await acquireHeld(this.flow.runtime.orchestration, this.def.options.tags, { holder: `task-run:${this.run.id}`, signal: this.flow.controller.signal });
        } catch (error) {
          return await this.fail(this.unlessStopped(makeState("Failed", { message: `waiting for a concurrency slot failed: ${describeError(error).message}` })), error, 0);
        }
      }
      // A thread task stays Pending until a thread is free, so Running means running.
      if (this.runner === "threads" && !this.def.options.workPool) {
        const slots = (await this.flow.runtime.threadPool()).slots;
        try {
          await slots.acquire(this.flow.controller.signal);
        } catch (stopped) {
          return await this.fail(this.stoppedState(), stopped, 0);
        }
        threadSlots = slots;
      }
      for (let attempt = 1; ; attempt++) {
        this.attempt = attempt;
        // The flow run ended while this run waited (for a slot, or before a retry): it stops here.
        if (this.flow.controller.signal.aborted) return await this.fail(this.stoppedState(), this.flow.controller.signal.reason, attempt);
        const running = makeState(attempt === 1 ? "Running" : "Retrying");
        this.flow.runtime.batcher.post(
          this.transition(running, { runCount: this.run.runCount + 1, startTime: this.run.startTime ?? running.timestamp, cacheKey }),
        );
        let value: unknown;
        const meter = new AttemptMeter();
        try {
          if (attempt > 1) resetTaskAssets(this.flow, this.run.id);
          value = await this.invoke(args, attempt, meter);
        } catch (error) {
          const usage = meter.finish();
          const delay = await this.retryDelay(error, attempt);
          this.resources = addAttempt(this.resources, usage, delay !== null);
          if (delay === null) {
            // Stopped: the flow's reason is the message; the error need not be described (its stack formatted) first.
            if (this.flow.controller.signal.aborted) return await this.fail(this.stoppedState(), error, attempt);
            const name = error instanceof RunTimeoutError ? "TimedOut" : error instanceof RunCancelledError ? "Cancelled" : "Failed";
            return await this.fail(makeState(name, { message: describeError(error).message }), error, attempt);
          }
          const awaiting = makeState("AwaitingRetry", { scheduledAt: Date.now() + delay, message: describeError(error).message });
          this.flow.runtime.batcher.post(this.transition(awaiting, { error: describeError(error), resources: this.resources }));
          this.flow.logger.warn(`Task run ${this.name} (${this.run.taskKey}) failed on attempt ${attempt}: ${describeError(error).message}; retrying in ${delay} ms`);
          if (this.call.span) noteRetry(this.call.span, attempt, error, delay);
          if (this.def.options.onRetry.length > 0) await this.runHooks(this.def.options.onRetry, awaiting, attempt, error);
          if (holdsSlot) {
            semaphore!.release();
            holdsSlot = false;
          }
          try {
            await sleepUntil(awaiting.scheduledAt!, this.flow.controller.signal);
          } catch (stopped) {
            // The flow run ended (failed elsewhere, timed out, cancelled) while this run slept.
            return await this.fail(this.stoppedState(), stopped, attempt);
          }
          if (semaphore) {
            try {
              await semaphore.acquire(this.flow.controller.signal);
            } catch (stopped) {
              return await this.fail(this.stoppedState(), stopped, attempt);
            }
            holdsSlot = true;
          }
          continue;
        }
        this.resources = addAttempt(this.resources, meter.finish(), false);
        if (hasTaskAssets(this.flow, this.run.id, this.def.options.writes)) {
          try {
            await settleTaskAssets(this.flow, this.run.id, this.def.options.writes, value);
          } catch (error) {
            return await this.fail(this.unlessStopped(makeState("Failed", { message: `materialising its assets failed: ${describeError(error).message}` })), error, attempt);
          }
        }
        const direct = !holdsSlot && tagSlots === null && threadSlots === null;
        const done = this.complete(value as R, cacheKey, attempt, direct);
        // A fan-out's run settles from the batcher (SETTLED): nothing to wait for here, and an
        // await of it would cost a promise and a turn per task.
        return done === SETTLED ? done : await done;
      }
    } finally {
      threadSlots?.release();
      if (tagSlots) await tagSlots.release().catch(() => undefined);
      if (holdsSlot) semaphore!.release();
      if (this.def.options.reads.length > 0) forgetTaskReads(this.flow, this.run.id);
    }
  }

  /**
   * The final state of a run stopped because its flow run stopped (another task failed it, it
   * timed out, it was cancelled): Cancelled, as Prefect ends the task runs of a stopped flow.
   */
  private stoppedState(): State {
    const reason = this.flow.controller.signal.reason;
    // A failFast stop says so first ("failFast: task run … of "load" ended Failed …"): readers match that prefix.
    if (reason instanceof FailFastError) return makeState("Cancelled", { message: reason.message });
    return makeState("Cancelled", { message: `stopped because the flow run ended: ${describeError(reason).message}` });
  }

  /** `state`, unless the flow run has stopped: then the run ended because of that. */
  private unlessStopped(state: State): State {
    return this.flow.controller.signal.aborted ? this.stoppedState() : state;
  }

  private get runner(): "async" | "threads" {
    return this.def.options.runner ?? this.flow.options.taskRunner;
  }

  private computeCacheKey(args: unknown[]): string | null {
    const option = this.def.options.cacheKey;
    if (option === "inputs") return inputsCacheKey(this.name, this.def.source, args);
    const key = option!({ taskName: this.name, args, parameters: this.flow.flowRun.parameters });
    if (key == null) return null;
    if (typeof key !== "string") throw new TypeError(`cacheKey function of task "${this.name}" must return a string, got ${typeof key}`);
    return `fn:${this.name}:${key}`;
  }

  private async fromCache(cacheKey: string): Promise<{ hit: true; value: unknown } | { hit: false }> {
    const entry = await this.flow.runtime.store.lookupCache(cacheKey, Date.now());
    if (!entry) return { hit: false };
    let value: unknown;
    try {
      value = await this.flow.runtime.results.load(entry.resultId);
    } catch (error) {
      this.flow.logger.warn(`cache entry for task ${this.name} is unreadable, running it instead: ${(error as Error).message}`);
      return { hit: false };
    }
    const cached = makeState("Cached", { message: `cache hit (task run ${entry.taskRunId})` });
    await this.flow.runtime.batcher.write(this.transition(cached, { cacheKey, resultId: entry.resultId, endTime: cached.timestamp }));
    this.flow.noteResult(value, this.run.id);
    return { hit: true, value };
  }

  private invoke(args: unknown[], attempt: number, meter: AttemptMeter): Promise<unknown> {
    const flowSignal = this.flow.controller.signal;
    if (flowSignal.aborted) return Promise.reject(flowSignal.reason ?? new RunCancelledError("the flow run was stopped"));
    // The task's own signal (the run's or its timeout) and its controller are made only when
    // read: most tasks never read it, and an AbortController, and AbortSignal.any's weak
    // reference, cost allocations per task that a fan-out keeps until its batch commits.
    let controller: AbortController | undefined;
    let timedOut: unknown;
    let signal: AbortSignal | undefined;
    const own = (): AbortController => {
      if (!controller) {
        controller = new AbortController();
        if (timedOut !== undefined) controller.abort(timedOut);
      }
      return controller;
    };
    const info: TaskRunInfo = {
      id: this.run.id,
      name: this.name,
      taskKey: this.run.taskKey,
      attempt,
      get signal() {
        return (signal ??= AbortSignal.any([flowSignal, own().signal]));
      },
    };
    const onTimeout = {
      abort(reason: unknown) {
        timedOut = reason;
        controller?.abort(reason);
      },
    };
    const call = this.def.options.workPool
      ? () => runTaskJob(this.flow, this.def, args, info)
      : this.runner === "threads"
        ? () => this.invokeInThread(args, info, meter)
        : () => engineContext.run({ flow: this.flow, task: info }, () => meter.sync(() => this.def.fn(...args)));
    return withTimeout(call, { timeoutMs: this.def.options.timeoutMs, name: `task ${this.name}`, controller: onTimeout, signal: flowSignal });
  }

  private async invokeInThread(args: unknown[], info: TaskRunInfo, meter: AttemptMeter): Promise<unknown> {
    if (!this.def.moduleUrl)
      throw new BatonError(`task "${this.name}" uses runner "threads" but the module that defines it is unknown; define it at the top level of a module file`);
    const pool = await this.flow.runtime.threadPool();
    // The task's span (active here) is the parent of the spans its function makes in the thread.
    const traceCarrier = tracing.enabled ? carrierOf(context.active()) : undefined;
    return pool.run(
      { moduleUrl: this.def.moduleUrl, taskName: this.def.definedAs, args, trace: traceCarrier },
      info.signal,
      (port) => receiveThreadValues(port, { flow: this.flow, task: info }),
      (usage) => meter.addThreadUsage(usage),
    );
  }

  /** The delay before the next attempt, or null when the error is final. */
  private async retryDelay(error: unknown, attempt: number): Promise<number | null> {
    const options = this.def.options;
    if (attempt > options.retries) return null;
    if (error instanceof NonRetryableError || error instanceof SerializationError) return null;
    if (this.flow.controller.signal.aborted) return null;
    if (options.retryIf) {
      try {
        if (!(await options.retryIf(error, attempt))) return null;
      } catch (hookError) {
        this.flow.logger.error(`retryIf of task ${this.name} threw, not retrying: ${(hookError as Error).message}`);
        return null;
      }
    }
    return retryDelayFor(options.retryDelayMs, attempt, options.retryJitter);
  }

  /**
   * Records the run Completed with its result. The call's future settles once that write is
   * committed: from the batcher's callback when the run holds no slot (`direct`: a fan-out's
   * common case, with no promise per write), else returned, for runToEnd to release its slots
   * only after the commit.
   */
  private complete(value: R, cacheKey: string | null, attempt: number, direct: boolean): Promise<R | typeof SETTLED> | typeof SETTLED {
    if (!this.def.options.persistResult) return this.completeWith(null, value, cacheKey, attempt, direct);
    let prepared: PreparedResult;
    try {
      prepared = this.flow.runtime.results.prepare(value, `the result of task "${this.name}"`);
    } catch (error) {
      return this.fail(makeState("Failed", { message: (error as Error).message }), error, attempt);
    }
    if (!prepared.blob) return this.completeWith(prepared.record, value, cacheKey, attempt, direct);
    // A large result: its blob is stored before the row that points at it is written.
    return this.flow.runtime.results.writeBlob(prepared).then(
      () => this.completeWith(prepared.record, value, cacheKey, attempt, direct),
      (error: unknown) => this.fail(makeState("Failed", { message: (error as Error).message }), error, attempt),
    );
  }

  private completeWith(record: ResultRecord | null, value: R, cacheKey: string | null, attempt: number, direct: boolean): Promise<R | typeof SETTLED> | typeof SETTLED {
    const ops: WriteOp[] = [];
    let resultId: string | null = null;
    if (record) {
      ops.push({ kind: "result", result: record });
      resultId = record.id;
      if (cacheKey) {
        const expires = this.def.options.cacheExpiresMs;
        ops.push({ kind: "cache", entry: { cacheKey, resultId, taskRunId: this.run.id, expiresAt: expires ? Date.now() + Math.ceil(expires) : null, createdAt: Date.now() } });
      }
    }
    const completed = makeState("Completed");
    ops.push(...this.transition(completed, { resultId, endTime: completed.timestamp, error: null, resources: this.resources }));
    const hooks = this.def.options.onCompletion;
    const committed = (): R | Promise<R> => {
      this.flow.noteResult(value, this.run.id);
      return hooks.length === 0 ? value : this.runHooks(hooks, completed, attempt, undefined, value).then(() => value);
    };
    if (!direct) return this.flow.runtime.batcher.write(ops).then(committed);
    this.flow.runtime.batcher.enqueue(ops, (error?: unknown) => {
      if (error !== undefined) return this.call.settle(false, error);
      const outcome = committed();
      if (outcome instanceof Promise) outcome.then((v) => this.call.settle(true, v), (hookError: unknown) => this.call.settle(false, hookError));
      else this.call.settle(true, outcome);
    });
    return SETTLED;
  }

  private async fail(state: State, error: unknown, attempt: number): Promise<never> {
    // A run a failFast stop ended keeps the stop's message, not the engine's stack: the failed
    // run has the error (and formatting stacks would delay the stop of the others).
    const info = error instanceof FailFastError ? { name: error.name, message: error.message } : describeError(error);
    const written = this.flow.runtime.batcher.write(this.transition(state, { error: info, endTime: state.timestamp, resources: this.resources }));
    const failure = new TaskRunError(this.run.id, this.name, state, { cause: error });
    // A failure that fails a failFast flow run: this run's last attempt ended Failed or TimedOut
    // (never a Cancelled run, which a stop ended), in the flow function's own calls (a nested
    // run's error goes to its calling task, which may handle it: that task failing counts), and
    // its future was not given to `wait()`. Told before the write commits: the others stop now.
    if (state.type === "FAILED" && !this.nested && !this.call.future.handled) this.flow.taskFailed(failure);
    await written;
    this.flow.logger.error(`Task run ${this.name} (${this.run.taskKey}) ended ${state.name}: ${state.message ?? info.message}`);
    if (this.def.options.onFailure.length > 0) await this.runHooks(this.def.options.onFailure, state, attempt, error);
    const stoppedBy = this.flow.controller.signal.reason;
    // Stopped by a failFast flow run: who awaits this run learns which task failed.
    if (state.type === "CANCELLED" && stoppedBy instanceof FailFastError) throw stoppedBy;
    throw failure;
  }

  private async runHooks(hooks: readonly Hook[], state: State, attempt: number, error?: unknown, result?: unknown): Promise<void> {
    if (hooks.length === 0) return;
    const ctx: HookContext = {
      kind: "task",
      name: this.name,
      runId: this.run.id,
      flowRunId: this.run.flowRunId,
      state: { type: state.type, name: state.name, message: state.message ?? null },
      attempt,
      error,
      result,
    };
    for (const hook of hooks) {
      try {
        await hook(ctx);
      } catch (hookError) {
        this.flow.logger.error(`hook ${hook.name || "(anonymous)"} of task ${this.name} threw: ${(hookError as Error).message}`);
      }
    }
  }
}
