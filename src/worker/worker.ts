/**
 * A worker: registers with a work pool, heartbeats, claims due flow runs (woken by PostgreSQL
 * LISTEN/NOTIFY when it can, polling otherwise) and runs each through the pool's
 * infrastructure. It watches its runs:
 *   - a run cancelled elsewhere (Cancelling) gets SIGTERM, then SIGKILL after the grace period,
 *     and ends Cancelled;
 *   - a run whose process exits (or never starts) while the run is still active crashed: it is
 *     marked Crashed, saying why (the exit code and the process's last stderr lines), and the
 *     store reschedules it when its deployment has retries left (resumed durably by a worker);
 *   - a worker asked to stop (SIGTERM) claims nothing more and gives its runs `shutdownGraceMs`
 *     to finish; then it kills their processes and marks them Crashed, so they are retried
 *     elsewhere at once instead of after three missed heartbeats;
 *   - a worker that dies (SIGKILL) stops heartbeating: the server, or any peer, marks its
 *     claimed runs Crashed (Pending ones too) after three missed beats, freeing their slots.
 * Claims are atomic in the store, so any number of workers on any number of machines never
 * run the same flow run twice.
 */
import os from "node:os";
import { newId } from "../core/ids.ts";
import { isTerminal, makeState } from "../core/states.ts";
import { runSchedulerPass, type SchedulerOptions } from "../services/scheduling.ts";
import type { ClaimedFlowRun, FlowRun, OrchestrationStore, RunStore, SchedulerStore } from "../store/types.ts";
import type { Infrastructure, RunHandle } from "./infrastructure.ts";
import { infrastructureFor } from "./infrastructures.ts";
import { redactorOf, resolveJobVariables, SECRET_ENV_NAMES, type RunValueSource } from "./job-variable-refs.ts";
import { describeError } from "../core/errors.ts";
import { splitEntrypoint } from "../core/entrypoint.ts";
import { tracing } from "../telemetry/tracing.ts";
import { traceEnvOf } from "../telemetry/trace-context.ts";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";

/**
 * Fault-injection point for tests: wait this long between claiming runs and starting them (to
 * cancel a run, or SIGKILL the worker, in that window).
 */
const PAUSE_AFTER_CLAIM_MS = Number(process.env.BATON_TEST_PAUSE_AFTER_CLAIM_MS) || 0;

import type { WorkerMetrics } from "./metrics.ts";

export interface WorkerOptions {
  pool: string;
  name?: string;
  /** Most flow runs at once (default 4). */
  limit?: number;
  /** Poll interval when no notification arrives (ms). */
  pollMs?: number;
  /**
   * Behind a server: how long each claim may wait on the server for a run (a long-poll, so a
   * run is picked up as soon as it is due instead of at the next poll). 0: poll.
   */
  claimWaitMs?: number;
  heartbeatMs?: number;
  /** Time a cancelled run gets to stop after SIGTERM before SIGKILL (ms). */
  cancelGraceMs?: number;
  /** How often the worker looks for cancel requests of its runs (ms, default 500). */
  cancelCheckMs?: number;
  /** On `shutdown()`: time its running runs get to finish before they are killed and Crashed (ms, default 10 s). */
  shutdownGraceMs?: number;
  /** Environment for the runs: how they reach the store or the API. */
  runEnv: Record<string, string>;
  /** Where `{{ variables.x }}` and `{{ secrets.x }}` in job variables are read; without it a run that uses them fails. */
  values?: RunValueSource;
  infrastructure?: Infrastructure;
  log?: (line: string) => void;
  /** Resolves when runs may be due (LISTEN/NOTIFY); called once at start. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
  /**
   * Run the scheduler (schedules to runs, late marking) every `everyMs` too: workers on the
   * database, with no server, would otherwise never see a schedule fire. Safe alongside a
   * server and other workers: each slot makes one run (a unique index). `store`: the
   * database's, where the scheduler writes.
   */
  scheduler?: SchedulerOptions & { store: SchedulerStore; everyMs: number; /** only this deployment's schedules */ deployment?: string };
  /** Counts claims, starts and ends for `--metrics-port` (metrics.ts). */
  metrics?: WorkerMetrics;
}

interface Active {
  run: FlowRun;
  handle: RunHandle;
  /** A cancel request is being carried out: the run ends Cancelled. */
  stopping: boolean;
  /** The worker is shutting down and killed the run's process: the run ends Crashed. */
  abandoned: boolean;
  /** With tracing on: the span of the claimed run, from the claim to its process's exit (the run's trace starts here). */
  span?: Span;
}

/** Without a source of values, a reference in job variables cannot be resolved (and says so). */
const NO_VALUES: RunValueSource = {
  variable: () => Promise.reject(new TypeError("this worker has no access to variables")),
  secret: () => Promise.reject(new TypeError("this worker has no access to secrets")),
};

/** The file of the run's entrypoint, if it names one (a malformed one fails in the run's own process, saying why). */
function entrypointFileOf(run: FlowRun): string | undefined {
  try {
    return run.entrypoint ? splitEntrypoint(run.entrypoint).file : undefined;
  } catch {
    return undefined;
  }
}

/** Longest stderr line quoted in a Crashed state's message. */
const QUOTED_LINE_CHARS = 300;

/** Why a run's process ended before its run did, for the Crashed state's message. */
function exitReason(entry: Active, code: number | null): string {
  if (entry.abandoned) return "its worker shut down before the run finished (its process was killed)";
  if (entry.handle.startError) return `the flow run's process could not start: ${entry.handle.startError}`;
  const how = entry.handle.endReason?.() ?? `the flow run's process ${code === null ? "was killed by a signal" : `exited with code ${code}`}`;
  const lines = entry.handle.lastErrorLines().map((line) => (line.length > QUOTED_LINE_CHARS ? `${line.slice(0, QUOTED_LINE_CHARS)}…` : line));
  return `${how} before the run finished${lines.length ? `; its last output: ${lines.join(" | ")}` : ""}`;
}

/** The run as claimed, for its process to start from (its job variables stay here: they may name secrets). */
function withoutJobVariables(run: ClaimedFlowRun): FlowRun {
  const { jobVariables: _jobVariables, ...rest } = run;
  return rest;
}

export class Worker {
  readonly id = newId();
  readonly name: string;
  private readonly active = new Map<string, Active>();
  /** Runs whose process is going or whose end is being recorded: `run()` waits for them. */
  private readonly ending = new Set<Promise<void>>();
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  /** A long-polled claim is in flight. */
  private claiming = false;
  private readonly log: (line: string) => void;
  /** Runs this worker started, in order (tests and the CLI read it). */
  readonly started: string[] = [];

  constructor(
    private readonly store: RunStore,
    private readonly orchestration: OrchestrationStore,
    private readonly options: WorkerOptions,
  ) {
    this.name = options.name ?? `${os.hostname()}-${process.pid}`;
    this.log = options.log ?? ((line) => process.stdout.write(line + "\n"));
  }

  get limit(): number {
    return this.options.limit ?? 4;
  }

  /** Runs until `stop()`: claim, start, watch. */
  async run(): Promise<void> {
    const pool = await this.orchestration.getWorkPool(this.options.pool);
    if (!pool) throw new TypeError(`work pool "${this.options.pool}" does not exist; create it with: baton work-pool create ${this.options.pool}`);
    const infrastructure = this.options.infrastructure ?? infrastructureFor(pool.type);
    const heartbeatMs = this.options.heartbeatMs ?? 10_000;
    await this.orchestration.registerWorker({ id: this.id, name: this.name, poolName: pool.name, runLimit: this.limit, heartbeatMs });
    this.log(`Worker ${this.name} (${this.id}) polling work pool "${pool.name}" (${pool.type}), up to ${this.limit} runs at once`);
    const unsubscribe = this.options.subscribe ? await this.options.subscribe(() => this.wakeUp?.()) : null;
    // Heartbeats and cancel checks run on their own timers, not between claims: a worker
    // waiting for due runs (or for its last runs, when stopping) still beats and still sees a
    // cancel within `cancelCheckMs`.
    const timers = [
      this.every(heartbeatMs, async () => {
        await this.orchestration.heartbeatWorker(this.id, Date.now()).catch((e: unknown) => this.log(`worker heartbeat failed: ${(e as Error).message}`));
        await this.recoverCrashed().catch((e: unknown) => this.log(`crash detection failed: ${(e as Error).message}`));
        await infrastructure
          .sweep?.(pool.name, async (id) => {
            const held = await this.store.getFlowRun(id);
            return held && !isTerminal(held.state.type) ? held.workerId : null;
          }, this.log)
          .catch((e: unknown) => this.log(`cleaning up after gone workers failed: ${(e as Error).message}`));
      }),
      this.every(this.options.cancelCheckMs ?? 500, () => this.watchCancellations()),
    ];
    const scheduler = this.options.scheduler;
    if (scheduler)
      timers.push(
        this.every(scheduler.everyMs, async () => {
          const { created, late, refused } = await runSchedulerPass(scheduler.store, scheduler);
          if (created) this.log(`Scheduler created ${created} flow run(s)`);
          for (const { deployment, reason } of refused) this.log(`Deployment "${deployment}" gets no scheduled runs: its parameters fail its schema: ${reason}`);
          if (late.length) this.log(`${late.length} scheduled flow run(s) are Late`);
          if (created) this.wakeUp?.(); // one may be due now
        }),
      );
    try {
      while (!this.stopped) {
        // A turn of the event loop per pass: with SQLite every await below may settle without
        // one, and a worker whose runs end at once (a process that cannot start) would never
        // see its timers or a SIGTERM.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped) break;
        const room = this.limit - this.active.size;
        if (room > 0) {
          let claimed: ClaimedFlowRun[] = [];
          const waitMs = this.options.claimWaitMs ?? 0;
          const asked = Date.now();
          this.claiming = waitMs > 0;
          try {
            claimed = await this.orchestration.claimFlowRuns(pool.name, this.id, room, asked, waitMs || undefined);
            this.options.metrics?.claimDuration.observe({ work_pool: pool.name }, (Date.now() - asked) / 1000);
            if (claimed.length) this.options.metrics?.claimed.inc({ work_pool: pool.name }, claimed.length);
          } catch (error) {
            this.log(`claiming failed, retrying: ${(error as Error).message}`);
          } finally {
            this.claiming = false;
          }
          if (claimed.length && PAUSE_AFTER_CLAIM_MS) await new Promise((r) => setTimeout(r, PAUSE_AFTER_CLAIM_MS));
          // The claim's span starts at its answer: a long-poll's wait before the run was due is not the run's.
          const answered = Date.now();
          for (const run of claimed) await this.launch(infrastructure, run, answered);
          if (claimed.length === room) continue; // there may be more: claim again at once
          // A long-poll that got runs, or waited its time on the server: ask again at once.
          if (waitMs > 0 && !this.stopped && (claimed.length > 0 || Date.now() - asked >= waitMs / 2)) continue;
        }
        // Sleep until the next poll, or until the pool's next scheduled run is due if sooner.
        const pollMs = this.options.pollMs ?? 1000;
        const due = room > 0 ? await this.orchestration.nextDueAt(pool.name).catch(() => null) : null;
        // (A run already due but not claimed is held by a limit: wait a poll for room.)
        const sleepMs = due === null || due <= Date.now() ? pollMs : Math.min(pollMs, due - Date.now() + 1);
        if (this.stopped) break; // stop() came while claiming: there was no sleep to wake yet
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, sleepMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = null;
      }
      // The ends of the last runs are recorded before the store closes.
      while (this.ending.size) await Promise.all([...this.ending]);
    } finally {
      timers.forEach((stop) => stop());
      await unsubscribe?.();
      infrastructure.close?.();
    }
  }

  /** Runs `work` every `ms` (and once now), never two at once. Returns a stop function. */
  private every(ms: number, work: () => Promise<void>): () => void {
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      work()
        .catch((error: unknown) => this.log(`worker background task failed: ${(error as Error).message}`))
        .finally(() => (busy = false));
    };
    const timer = setInterval(tick, ms);
    tick();
    return () => clearInterval(timer);
  }

  /**
   * Stops claiming; running flow runs get `shutdownGraceMs` to finish, then their processes are
   * killed and the runs marked Crashed (retried by their deployments). Called again: at once.
   */
  shutdown(): void {
    if (this.stopped) return this.abandonRuns();
    this.stop();
    const graceMs = this.options.shutdownGraceMs ?? 10_000;
    if (this.active.size) this.log(`Waiting up to ${graceMs} ms for ${this.active.size} running flow run(s); a second signal stops them now`);
    setTimeout(() => this.abandonRuns(), graceMs).unref();
  }

  /** Kills the processes of the running flow runs; each is marked Crashed as its process exits. */
  private abandonRuns(): void {
    for (const entry of this.active.values()) {
      if (entry.abandoned) continue;
      entry.abandoned = true;
      this.log(`Stopping flow run ${entry.run.id}: the worker is shutting down`);
      entry.handle.kill();
    }
  }

  /** Stops claiming; running flow runs finish (the promise of `run()` waits for them). */
  stop(): void {
    this.stopped = true;
    this.wakeUp?.();
    // A claim waiting on the server answers now (with what it got, which this worker runs).
    // Asked again while it lasts: a request that overtook the claim's own finds nothing to end.
    const interrupt = () => {
      if (!this.claiming || !this.orchestration.interruptClaim) return;
      this.orchestration.interruptClaim(this.id).catch(() => undefined);
      setTimeout(interrupt, 250).unref();
    };
    interrupt();
  }

  /** A span for a run this worker claimed (its claim answered at `claimedAt`), the root of the run's trace. */
  private claimSpan(run: ClaimedFlowRun, claimedAt: number): Span {
    return tracing.tracer.startSpan(
      `claim flow-run ${run.flowName}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: claimedAt,
        attributes: {
          "baton.flow_run.id": run.id,
          "baton.flow_run.name": run.name,
          "baton.flow.name": run.flowName,
          ...(run.deploymentId ? { "baton.deployment.id": run.deploymentId } : {}),
          "baton.worker.id": this.id,
          "baton.worker.name": this.name,
          "baton.work_pool.name": this.options.pool,
        },
      },
      ROOT_CONTEXT,
    );
  }

  private async launch(infrastructure: Infrastructure, run: ClaimedFlowRun, claimedAt: number): Promise<void> {
    this.log(`Starting flow run ${run.name} (${run.id}) of "${run.flowName}"`);
    this.started.push(run.id);
    const span = tracing.enabled ? this.claimSpan(run, claimedAt) : undefined;
    let resolved;
    try {
      resolved = await resolveJobVariables(run.jobVariables, this.options.values ?? NO_VALUES, run.id);
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: "its job variables could not be resolved" });
      span?.end();
      return this.refuseStart(run, `its job variables could not be resolved: ${describeError(error).message}`);
    }
    const { jobVariables, secretEnvNames, secretValues } = resolved;
    // The job's env first: Baton's own variables (how to reach the store, BATON_WORKER_ID, with
    // which the run's process checks that this worker still holds the run) must win.
    const env = { ...jobVariables.env, ...this.options.runEnv, BATON_WORKER_ID: this.id, ...(secretEnvNames.length ? { [SECRET_ENV_NAMES]: secretEnvNames.join(",") } : {}) };
    const handle = infrastructure.start(run.id, env, {
      cwd: jobVariables.cwd,
      redact: secretValues.length ? redactorOf(secretValues) : undefined,
      entrypointFile: entrypointFileOf(run),
      run: withoutJobVariables(run),
      // The run's process continues the claim's trace: its flow run's span is the claim's child.
      traceEnv: span ? traceEnvOf(trace.setSpan(context.active(), span)) : undefined,
      jobVariables,
    });
    if (span && handle.pid !== undefined) span.setAttribute("process.pid", handle.pid);
    const entry: Active = { run, handle, stopping: false, abandoned: false, span };
    this.active.set(run.id, entry);
    this.options.metrics?.started.inc({ work_pool: this.options.pool });
    this.options.metrics?.active.set({ work_pool: this.options.pool }, this.active.size);
    const ended = handle.exited.then((code) => this.finished(entry, code));
    this.ending.add(ended);
    void ended.finally(() => this.ending.delete(ended));
  }

  /** The run cannot start (a reference in its job variables names nothing): it ends Failed, saying why. */
  private async refuseStart(run: ClaimedFlowRun, why: string): Promise<void> {
    this.log(`Flow run ${run.name} (${run.id}) cannot start: ${why}`);
    await this.store
      .setFlowRunState(run.id, makeState("Failed", { message: `the flow run could not start: ${why}` }), { expect: { workerId: this.id, stateTimestamp: run.state.timestamp } })
      .catch((error: unknown) => this.log(`could not record that flow run ${run.id} cannot start: ${(error as Error).message}`));
  }

  private async finished(entry: Active, code: number | null): Promise<void> {
    if (this.active.get(entry.run.id) === entry) this.active.delete(entry.run.id);
    if (entry.span) {
      entry.span.setAttribute("process.exit.code", code ?? -1);
      if (code !== 0) entry.span.setStatus({ code: SpanStatusCode.ERROR, message: exitReason(entry, code) });
      entry.span.end();
    }
    this.options.metrics?.active.set({ work_pool: this.options.pool }, this.active.size);
    try {
      let run = await this.store.getFlowRun(entry.run.id);
      // Gone, or claimed again by this worker since (a retry due at once): not this process's to end.
      if (!run || this.active.has(run.id)) return;
      // The process ended but the run did not, and no one else has taken it since: it crashed
      // (or was killed while cancelling). A run the process ended itself, or that its deployment
      // already put back to the pool (AwaitingRetry), is left as it is.
      if (!isTerminal(run.state.type) && run.state.type !== "SCHEDULED" && run.workerId === this.id) {
        const state = entry.stopping
          ? makeState("Cancelled", { message: "stopped by the worker after a cancel request" })
          : makeState("Crashed", { message: exitReason(entry, code) });
        // Compare-and-set: the run must still be the one this process had.
        // No force: Cancelled follows any active state by the rules (a worker key may not force).
        // A run that died cannot record what it used; its container's stats (Docker pools) can.
        const used = entry.handle.usage?.();
        const resources = used ? { ...used, retriedWallMs: 0, retriedCpuMs: 0 } : undefined;
        const set = await this.store.setFlowRunState(run.id, state, { expect: { workerId: this.id, stateTimestamp: run.state.timestamp }, ...(resources ? { resources } : {}) });
        run = set.run;
      }
      this.options.metrics?.finished.inc({ work_pool: this.options.pool, state: run.state.name });
      this.log(`Flow run ${run.name} (${run.id}) ended ${run.state.name}${run.state.name === "AwaitingRetry" ? ` (${run.state.message})` : ""}`);
    } catch (error) {
      this.log(`could not record the end of flow run ${entry.run.id}: ${(error as Error).message}`);
    }
    this.wakeUp?.();
  }

  /**
   * Without a server, workers are the ones left to notice a dead peer: runs that missed three
   * heartbeats, and runs (Pending ones too) of a worker that missed three of its own, become
   * Crashed (the store schedules those of deployments with retries left again).
   */
  private async recoverCrashed(): Promise<void> {
    for (const id of await this.store.crashStaleFlowRuns(Date.now())) this.log(`Flow run ${id} missed its heartbeats: Crashed`);
  }

  private async watchCancellations(): Promise<void> {
    for (const entry of this.active.values()) {
      if (entry.stopping) continue;
      const run = await this.store.getFlowRun(entry.run.id).catch(() => undefined);
      if (run && (run.state.type === "CANCELLING" || run.state.type === "CANCELLED")) {
        entry.stopping = true;
        this.log(`Cancelling flow run ${run.id}: SIGTERM, SIGKILL after ${this.options.cancelGraceMs ?? 10_000} ms`);
        entry.handle.stop(this.options.cancelGraceMs ?? 10_000);
      }
    }
  }
}
