/**
 * How a worker starts a flow run: the work pool's type picks an infrastructure. `process` runs
 * each flow run in a child process of the worker; `docker` and `kubernetes` would implement the
 * same interface (start a container or a Job with the same environment and command).
 */
import { SPARE_ENTRYPOINT_ENV } from "./run-env.ts";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

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

  private spawnChild(idArgument: string, env: Record<string, string>, cwd: string, entrypointFile?: string): ChildProcess {
    // stdin stays open as a lifeline: if the worker dies, the child sees it close and stops, so
    // a killed worker never leaves runs going on unseen.
    const own = idArgument === "-" ? (entrypointFile ? { [SPARE_ENTRYPOINT_ENV]: entrypointFile } : {}) : { BATON_FLOW_RUN_ID: idArgument };
    const child = spawn(process.execPath, [BIN, "execute-flow-run", idArgument], {
      cwd,
      env: { ...process.env, ...env, ...own, BATON_WORKER_LIFELINE: "stdin" },
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
      child.stdin!.write(`${flowRunId}\n`);
    } else {
      this.close();
      child = this.spawnChild(flowRunId, env, cwd);
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
            follow(this.spawnChild(flowRunId, env, cwd), false);
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

export function infrastructureFor(type: string): Infrastructure {
  if (type === "process") return new ProcessInfrastructure();
  throw new TypeError(`work pool type "${type}" is not supported yet; supported: process`);
}
