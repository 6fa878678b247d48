/**
 * How a worker starts a flow run: the work pool's type picks an infrastructure. `process` runs
 * each flow run in a child process of the worker; `docker` in a container (worker/docker.ts);
 * `kubernetes` would implement the same interface (a Job with the same environment and command).
 */
import { SPARE_ENTRYPOINT_ENV } from "./run-env.ts";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { JobVariables } from "../core/job-variables.ts";
import type { FlowRun } from "../store/types.ts";
import type { TraceCarrier } from "../telemetry/trace-context.ts";

/** What a run's container used, from its stats: cumulative CPU time, peak memory, and how long it ran. */
export interface ResourceUsage {
  cpuUserMs: number;
  cpuSystemMs: number;
  peakMemoryBytes: number;
  wallMs: number;
}

export interface RunHandle {
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Asks the run to stop (SIGTERM: it ends Cancelled), then forces it after `graceMs`. */
  stop(graceMs: number): void;
  /** Ends the run's process at once (SIGKILL): the worker is shutting down. */
  kill(): void;
  readonly pid: number | undefined;
  /** Why the process could not be started at all, when it could not. */
  readonly startError?: string;
  /** The last lines the process wrote to stderr: why it ended, when it ended early. */
  lastErrorLines(): string[];
  /** How the run's process ended, as the start of a sentence, when the infrastructure knows more than the exit code ("the flow run's container was OOM-killed…"). */
  endReason?(): string | undefined;
  /** What the run used (Docker: sampled from the container's stats); final once `exited` resolved. */
  usage?(): ResourceUsage | undefined;
}

/** Lines of a run's stderr kept to explain an early exit. */
const KEPT_ERROR_LINES = 5;

/** Where and how to start a run's process, from the run's job variables. */
export interface StartOptions {
  /** Working directory; relative to the worker's. Default: the worker's. */
  cwd?: string;
  /** Applied to each line of the run's output before it is forwarded or kept (secret values the worker put in its env). */
  redact?: (line: string) => string;
  /**
   * The run's entrypoint file: the spare started after this run pre-imports it, as the pool's
   * next run is most likely of the same deployment.
   */
  entrypointFile?: string;
  /** The run as claimed (Pending, this worker's): a warm spare starts from it instead of reading it again. */
  run?: FlowRun;
  /**
   * The trace context the run's process continues (TRACEPARENT, TRACESTATE: telemetry/trace-context.ts),
   * with tracing on. Apart from `env`, which keys the warm spare: each run has its own. Another
   * infrastructure (a container) adds them to the run's environment as the process one does.
   */
  traceEnv?: Record<string, string>;
  /** The run's merged and resolved job variables (a Docker pool reads its image, volumes, limits from them). */
  jobVariables?: JobVariables;
}

/**
 * The exit code of a spare that was handed a run but had pre-imported a flow file changed since
 * (src/cli/spare.ts): it did not touch the run, which gets a fresh process.
 */
export const SPARE_STALE_EXIT = 75;

/** How long after a run's start its infrastructure starts the next spare (a run's start takes a few ms of CPU, a spare's boot a second). */
const SPARE_DELAY_MS = 200;

export interface Infrastructure {
  readonly type: string;
  /** Starts the process of a claimed flow run with `env` on top of the worker's environment. */
  start(flowRunId: string, env: Record<string, string>, options?: StartOptions): RunHandle;
  /** Releases what the infrastructure keeps ready between runs. */
  close?(): void;
  /**
   * Cleans up after workers of `pool` that are gone (Docker: their containers, found by labels);
   * `heldBy(runId)` names the worker that holds a run now. Called on each heartbeat.
   */
  sweep?(pool: string, heldBy: (flowRunId: string) => Promise<string | null>, log: (line: string) => void): Promise<void>;
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/baton.js");

export class ProcessInfrastructure implements Infrastructure {
  readonly type = "process";
  /**
   * A warm spare: a child that has already started Node, loaded Baton, opened the store and
   * imported the last run's flow file (src/cli/spare.ts), and waits for a run id on stdin.
   * Starting a run hands it the id (a few ms instead of the ~1 s a cold process takes) and
   * starts the next spare shortly after. A spare whose flow files changed since exits
   * SPARE_STALE_EXIT and the run gets a fresh process (which, like any, runs it only while it
   * is still the Pending run this worker claimed: a run is never started twice).
   */
  private spare: { child: ChildProcess; key: string } | null = null;
  /** The next spare, started a moment after a run: its boot would compete for the CPU with that run's start. */
  private nextSpare: NodeJS.Timeout | null = null;

  constructor(private readonly output: (line: string) => void = (line) => process.stdout.write(line + "\n")) {}

  private spawnChild(idArgument: string, env: Record<string, string>, cwd: string, entrypointFile?: string, traceEnv?: Record<string, string>): ChildProcess {
    // stdin stays open as a lifeline: if the worker dies, the child sees it close and stops, so
    // a killed worker never leaves runs going on unseen.
    const own = idArgument === "-" ? (entrypointFile ? { [SPARE_ENTRYPOINT_ENV]: entrypointFile } : {}) : { BATON_FLOW_RUN_ID: idArgument, ...traceEnv };
    // A trace context the worker itself was started in is not the run's: only its own crosses.
    const { TRACEPARENT: _parent, TRACESTATE: _state, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, "execute-flow-run", idArgument], {
      cwd,
      env: { ...inherited, ...env, ...own, BATON_WORKER_LIFELINE: "stdin" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.on("error", () => undefined);
    return child;
  }

  /** Stops the spare (when the worker stops). */
  close(): void {
    if (this.nextSpare) clearTimeout(this.nextSpare);
    this.nextSpare = null;
    this.spare?.child.kill("SIGTERM");
    this.spare = null;
  }

  start(flowRunId: string, env: Record<string, string>, options: StartOptions = {}): RunHandle {
    const prefix = `[${flowRunId.slice(-8)}] `;
    const cwd = path.resolve(options.cwd ?? ".");
    if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
      // spawn would fail without an exit event: end the run's process before it exists.
      const startError = `its working directory ${cwd} (job variable cwd) is not a directory`;
      this.output(`${prefix}cannot start flow run ${flowRunId}: ${startError}`);
      return { exited: Promise.resolve(127), pid: undefined, startError, stop: () => undefined, kill: () => undefined, lastErrorLines: () => [] };
    }
    // A spare is started for the same env and directory as the last run (runs of one deployment
    // share them); a run with others starts cold.
    const key = JSON.stringify([env, cwd]);
    let child: ChildProcess;
    const fromSpare = this.spare !== null && this.spare.key === key && this.spare.child.exitCode === null && this.spare.child.signalCode === null;
    if (fromSpare) {
      child = this.spare!.child;
      // One line: the id, its trace context (if traced), and the claimed run as JSON (no newline in it) to start from.
      child.stdin!.write(spareLine(flowRunId, options));
    } else {
      this.close();
      child = this.spawnChild(flowRunId, env, cwd, undefined, options.traceEnv);
    }
    this.spare = null;
    if (this.nextSpare) clearTimeout(this.nextSpare);
    this.nextSpare = setTimeout(() => {
      this.nextSpare = null;
      this.spare = { child: this.spawnChild("-", env, cwd, options.entrypointFile), key };
    }, SPARE_DELAY_MS);
    const errorLines: string[] = [];
    const forward = (data: Buffer, keep?: string[]) => {
      for (const raw of data.toString().split("\n")) {
        if (!raw.trim()) continue;
        const line = options.redact ? options.redact(raw) : raw;
        this.output(prefix + line);
        if (keep && keep.push(line) > KEPT_ERROR_LINES) keep.shift();
      }
    };
    let stopped = false;
    const exited = new Promise<number | null>((resolve) => {
      const follow = (started: ChildProcess, spare: boolean) => {
        child = started;
        started.stdout!.on("data", (data: Buffer) => forward(data));
        started.stderr!.on("data", (data: Buffer) => forward(data, errorLines));
        let ended = false;
        const end = (code: number | null) => {
          if (ended) return;
          ended = true;
          resolve(code);
        };
        // At "close" the last stderr lines have been read; but a grandchild that inherited the
        // pipes may hold them open, so "exit" plus a moment is enough.
        started.once("close", end);
        started.once("exit", (code) => {
          if (spare && code === SPARE_STALE_EXIT && !stopped && !ended) {
            ended = true;
            this.output(`${prefix}the warm process had loaded an older version of the flow's files: starting a new one`);
            follow(this.spawnChild(flowRunId, env, cwd, undefined, options.traceEnv), false);
            return;
          }
          setTimeout(() => end(code), 200).unref();
        });
      };
      follow(child, fromSpare);
    });
    return {
      exited,
      get pid() {
        return child.pid;
      },
      stop: (graceMs) => {
        stopped = true;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        timer.unref();
        void exited.then(() => clearTimeout(timer));
      },
      kill: () => {
        stopped = true;
        child.kill("SIGKILL");
      },
      lastErrorLines: () => [...errorLines],
    };
  }
}

/**
 * The line that hands a run to a warm spare (read by src/cli/spare.ts): `id [traceparent=…]
 * [tracestate=…] [run as JSON]`. A spare started before the run cannot have its trace context
 * in its environment.
 */
export function spareLine(flowRunId: string, options: Pick<StartOptions, "run" | "traceEnv"> = {}): string {
  const parts = [flowRunId];
  if (options.traceEnv?.TRACEPARENT) parts.push(`traceparent=${options.traceEnv.TRACEPARENT}`);
  if (options.traceEnv?.TRACESTATE) parts.push(`tracestate=${encodeURIComponent(options.traceEnv.TRACESTATE)}`);
  if (options.run?.id === flowRunId) parts.push(JSON.stringify(options.run));
  return parts.join(" ") + "\n";
}

/** Reads a line of `spareLine`; a run's JSON that cannot be read is left out (the run is then read from the store). */
export function parseSpareLine(line: string): { id: string; run?: FlowRun; trace?: TraceCarrier } {
  let rest = line.trim();
  const word = (): string => {
    const space = rest.indexOf(" ");
    const first = space < 0 ? rest : rest.slice(0, space);
    rest = space < 0 ? "" : rest.slice(space + 1).trimStart();
    return first;
  };
  const id = word();
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  while (rest.startsWith("traceparent=") || rest.startsWith("tracestate=")) {
    const field = word();
    if (field.startsWith("traceparent=")) traceparent = field.slice("traceparent=".length);
    else tracestate = decodeURIComponent(field.slice("tracestate=".length));
  }
  const trace = traceparent ? { traceparent, ...(tracestate ? { tracestate } : {}) } : undefined;
  let run: FlowRun | undefined;
  if (rest) {
    try {
      const parsed = JSON.parse(rest) as FlowRun;
      run = parsed?.id === id ? parsed : undefined;
    } catch {
      run = undefined;
    }
  }
  return { id, ...(run ? { run } : {}), ...(trace ? { trace } : {}) };
}
