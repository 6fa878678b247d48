/** The in-memory bookkeeping of one executing flow run. */
import type { FlowRunMeter } from "./resource-meter.ts";
import type { CompiledFlowOptions } from "../core/options.ts";
import { isTerminal, makeState } from "../core/states.ts";
import type { FlowRun, TaskRun, WriteOp } from "../store/types.ts";
import { idForName } from "../core/ids.ts";
import { pauseKey } from "../core/flow-run-inputs.ts";
import type { RunLogger } from "./run-logger.ts";
import type { Runtime } from "./runtime.ts";
import { Semaphore } from "./semaphore.ts";
import { Fifo } from "./fifo.ts";
import { ValueLineage } from "./lineage.ts";
import { setMaxListeners } from "node:events";
import { FailFastError, type TaskRunError } from "../core/errors.ts";

/** Every task run listens to its flow's signal: a fan-out of 10,000 is expected, not a leak. */
function flowController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Child flow runs of one parent that a resume reuses; children beyond are run again. */
const MAX_CHILDREN = 10_000;

export class FlowRunState {
  /** Task runs known from earlier attempts of this flow run, by task key (durable resume). */
  readonly prior = new Map<string, TaskRun>();
  /** Child flow runs of earlier attempts, by child key (flow name + call index). */
  readonly priorChildren = new Map<string, FlowRun>();
  /** Next call index per task name, reset at every attempt so keys repeat across attempts. */
  private counters = new Map<string, number>();
  private childCounters = new Map<string, number>();
  /** `pauseFlowRun` calls made by this attempt: their keys (pause-1, pause-2…) repeat across attempts. */
  private pauses = 0;
  /** Artifacts published so far by this attempt of the flow function. */
  private flowArtifacts = 0;
  /** Artifacts published so far by each attempt of a task run, by its TaskRunInfo (one per attempt). */
  private taskArtifacts = new WeakMap<object, number>();
  private usedKeys = new Set<string>();
  /** Task runs (and child flow runs) started in this attempt that have not settled yet. */
  private outstanding = 0;
  private settled: (() => void) | null = null;
  /**
   * The admission window: top-level task runs in flight, and calls waiting for room. A fan-out
   * of a million calls holds a million small closures, not a million task runs' state (their
   * records, promises, writes in flight), and each batch of writes stays a window's size.
   * Waiting calls start in call order, so a task that awaits another's future never waits on
   * one queued behind it; a task called from a task runs at once (its parent holds the room).
   */
  private admitted = 0;
  private readonly queued = new Fifo<{ start(): void }>();
  readonly semaphore: Semaphore | null;
  /** Aborted when the flow run times out or is cancelled; every task signal follows it. */
  controller = flowController();
  attempt = 1;
  /** Measures the run from its Running state on (set once it starts): sent with its final state. */
  meter: FlowRunMeter | null = null;
  /** Set when a cancel request was seen: the run ends Cancelled, not Failed. */
  cancelled = false;
  /** Why it was cancelled, when not on request (its parent flow run stopped). */
  cancelReason: string | null = null;
  /** Set when the run was paused from elsewhere (the dashboard): it stops, and stays Paused. */
  pausedFromOutside = false;
  /** True while its own `pauseFlowRun` waits in place: Paused is then its own doing. */
  waitingForInput = false;
  /** With `failFast`: the failure that stopped this attempt, which is the flow run's error. */
  failedFast: TaskRunError | null = null;

  constructor(
    readonly runtime: Runtime,
    public flowRun: FlowRun,
    readonly options: CompiledFlowOptions,
    readonly logger: RunLogger,
  ) {
    this.semaphore = options.maxConcurrency ? new Semaphore(options.maxConcurrency) : null;
  }

  /** The stable key of the next call of a task in this flow run. */
  nextTaskKey(taskName: string, explicitKey: string | null): string {
    // Only explicit keys are kept: a generated key ("name-index") is used twice only if an
    // explicit key took it, or if an explicit key names an index the counter already gave out
    // (a million generated keys need not sit in a set).
    let key: string;
    if (explicitKey !== null) {
      key = explicitKey;
      if (this.usedKeys.has(key) || this.generated(key)) throw this.keyUsedTwice(key);
      this.usedKeys.add(key);
      return key;
    }
    const index = this.counters.get(taskName) ?? 0;
    this.counters.set(taskName, index + 1);
    key = `${taskName}-${index}`;
    if (this.usedKeys.has(key)) throw this.keyUsedTwice(key);
    return key;
  }

  /** Whether `key` has the form of a key this attempt already generated ("name-index"). */
  private generated(key: string): boolean {
    const dash = key.lastIndexOf("-");
    const index = key.slice(dash + 1);
    if (dash < 0 || !/^(0|[1-9]\d*)$/.test(index)) return false;
    return Number(index) < (this.counters.get(key.slice(0, dash)) ?? 0);
  }

  private keyUsedTwice(key: string): TypeError {
    return new TypeError(`task key "${key}" is used twice in flow run ${this.flowRun.id}; give each call its own key option`);
  }

  /** The key of the next `pauseFlowRun` call in this flow run: the caller's, or its call order. */
  nextPauseKey(explicitKey: string | undefined): string {
    this.pauses++;
    const key = explicitKey ?? pauseKey(this.pauses);
    if (this.usedKeys.has(`pause:${key}`)) throw new TypeError(`pause key "${key}" is used twice in flow run ${this.flowRun.id}; give each pauseFlowRun call its own key option`);
    this.usedKeys.add(`pause:${key}`);
    return key;
  }

  /**
   * The key of the next child flow call of `flowName` in this flow run ("name-index"), and the
   * child run an earlier attempt made under it. Called synchronously at the call, so that
   * concurrent child calls get their indexes (and their time-ordered ids) in call order.
   */
  nextChildCall(flowName: string): { key: string; prior: FlowRun | undefined } {
    const index = this.childCounters.get(flowName) ?? 0;
    this.childCounters.set(flowName, index + 1);
    const key = `${flowName}-${index}`;
    return { key, prior: this.priorChildren.get(key) };
  }

  /**
   * The id of the next artifact published by the flow function (`task` null) or a task run's
   * attempt. The nth artifact of every attempt gets the same id, as the nth call of a task gets
   * the same key: an attempt that runs again (a flow or task retry, a resume) publishes its
   * artifacts again in place of the earlier attempt's instead of beside them. Called
   * synchronously at the call, so that concurrent calls get their indexes in call order.
   */
  nextArtifactId(task: { readonly id: string } | null): string {
    let index: number;
    if (task) {
      index = this.taskArtifacts.get(task) ?? 0;
      this.taskArtifacts.set(task, index + 1);
    } else index = this.flowArtifacts++;
    return idForName(`artifact:${this.flowRun.id}:${task?.id ?? "flow"}:${index}`);
  }

  /** Starts a new attempt: keys restart so that finished tasks are found again. */
  newAttempt(): void {
    this.attempt++;
    this.counters = new Map();
    this.childCounters = new Map();
    this.pauses = 0;
    this.flowArtifacts = 0;
    this.usedKeys = new Set();
    this.controller = flowController();
    this.failedFast = null;
  }

  /**
   * A task run of this attempt failed for good (task-runner.ts decides which failures count).
   * With `failFast`, the attempt stops at once: aborting its signal ends every other task run
   * Cancelled (running ones through their signal, a thread's by terminating it; waiting ones
   * before they start) with a `FailFastError`, and the flow function is no longer awaited.
   */
  taskFailed(failure: TaskRunError): void {
    if (!this.options.failFast || this.controller.signal.aborted) return;
    this.failedFast = failure;
    this.logger.warn(`failFast: task run ${failure.taskRunId} of "${failure.taskName}" ended ${failure.state.name}; stopping the flow run's other task runs`);
    this.controller.abort(new FailFastError(failure.taskRunId, failure.taskName, { cause: failure }));
    // Calls waiting in the window start now, past its size (by one window at most, which bounds
    // the memory): each ends Cancelled at once, in the commit of the others' Cancelled states.
    for (let i = 0; i < this.runtime.taskWindow && this.queued.length > 0; i++) {
      this.admitted++;
      this.queued.shift()!.start();
    }
  }

  /** Which task run produced the values tasks pass on (see lineage.ts). */
  private readonly lineage = new ValueLineage();

  noteResult(value: unknown, taskRunId: string): void {
    this.lineage.note(value, taskRunId);
  }

  /** Task runs that produced values among `args`. */
  producersOf(args: readonly unknown[]): string[] {
    return this.lineage.producersOf(args);
  }

  /**
   * The task run an earlier attempt made under `key`, forgotten here: a key is used once per
   * attempt (the next attempt reloads them all), so a resumed fan-out of a million task runs
   * does not keep every earlier record until its end.
   */
  takePrior(key: string): TaskRun | undefined {
    const prior = this.prior.get(key);
    if (prior !== undefined) this.prior.delete(key);
    return prior;
  }

  private remember(taskRun: TaskRun): void {
    this.prior.set(taskRun.taskKey, taskRun);
  }

  /**
   * Loads the task runs of earlier attempts from the store (the truth, even when a write of
   * this process failed), before a flow retry or a resume: their keys keep their rows. A task
   * run an earlier attempt left unfinished (its final write was lost, its process died) is
   * closed as Crashed first, so the new attempt starts it again from a final state.
   */
  async reloadPrior(): Promise<void> {
    const runtime = this.runtime;
    await runtime.batcher.drain(this.flowRun.id).catch((error: unknown) => this.logger.warn(`some run records of the earlier attempt were not stored: ${(error as Error).message}`));
    this.prior.clear();
    const ops: WriteOp[] = [];
    for (const taskRun of await runtime.store.listTaskRuns(this.flowRun.id)) {
      if (isTerminal(taskRun.state.type)) {
        this.remember(taskRun);
        continue;
      }
      const crashed = makeState("Crashed", { message: `left ${taskRun.state.name} when an earlier attempt of its flow run ended` });
      const closed: TaskRun = { ...taskRun, state: crashed, endTime: crashed.timestamp };
      ops.push({ kind: "taskRun", taskRun: closed }, { kind: "state", state: { ...crashed, flowRunId: closed.flowRunId, taskRunId: closed.id } });
      this.remember(closed);
    }
    if (ops.length > 0) await runtime.batcher.write(ops);
    // Child flow runs get the same treatment as task runs: the nth call of a child flow finds
    // the nth child run of that flow made by earlier attempts. Ids are UUIDv7 made at the call,
    // so their order is the call order.
    this.priorChildren.clear();
    const children: FlowRun[] = [];
    let cursor: string | undefined;
    do {
      const page = await runtime.store.pageFlowRuns({ parentFlowRunId: this.flowRun.id, limit: 500, cursor });
      children.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && children.length < MAX_CHILDREN);
    children.sort((a, b) => (a.id < b.id ? -1 : 1));
    const seen = new Map<string, number>();
    for (const child of children) {
      const index = seen.get(child.flowName) ?? 0;
      seen.set(child.flowName, index + 1);
      this.priorChildren.set(`${child.flowName}-${index}`, child);
    }
  }

  /** Counts `promise` until it settles: the attempt ends only after all have (window tasks count themselves). */
  track(promise: Promise<unknown>): void {
    this.outstanding++;
    const done = () => {
      if (--this.outstanding === 0) this.settled?.();
    };
    promise.then(done, done);
  }

  async settleOutstanding(): Promise<void> {
    while (this.outstanding > 0) await new Promise<void>((resolve) => (this.settled = resolve));
    this.settled = null;
  }

  /** Whether a top-level task run may start now: the window has room and nobody waits before it. */
  hasRoom(): boolean {
    return this.admitted < this.runtime.taskWindow && this.queued.length === 0;
  }

  /** Counts a task run started through the window (and as outstanding); its settling must call `leave`. */
  enter(): void {
    this.admitted++;
    this.outstanding++;
  }

  /** Counts a task run started by a task run (under its parent's room); its settling must call `leaveNested`. */
  enterNested(): void {
    this.outstanding++;
  }

  readonly leaveNested = (): void => {
    if (--this.outstanding === 0) this.settled?.();
  };

  /** Queues the start of a task run until the window has room (counted in it before `start` runs). */
  enqueue(call: { start(): void }): void {
    this.queued.push(call);
    this.outstanding++;
  }

  /** A task run admitted through the window settled: the next queued call takes its room. */
  readonly leave = (): void => {
    this.admitted--;
    while (this.admitted < this.runtime.taskWindow && this.queued.length > 0) {
      this.admitted++;
      this.queued.shift()!.start();
    }
    if (--this.outstanding === 0) this.settled?.();
  };
}
