/**
 * How a worker starts a flow run: the work pool's type picks an infrastructure. `process` runs
 * each flow run in a child process of the worker; `docker` and `kubernetes` would implement the
 * same interface (start a container or a Job with the same environment and command).
 */
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
}

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
   * A warm spare: a child that has already started Node, loaded Baton and opened the store, and
   * waits for a run id on stdin. Starting a run hands it the id (tens of ms instead of the ~1 s
   * a cold process takes) and starts the next spare in the background.
   */
  private spare: { child: ChildProcess; key: string } | null = null;

  constructor(private readonly output: (line: string) => void = (line) => process.stdout.write(line + "\n")) {}

  private spawnChild(idArgument: string, env: Record<string, string>, cwd: string): ChildProcess {
    // stdin stays open as a lifeline: if the worker dies, the child sees it close and stops, so
    // a killed worker never leaves runs going on unseen.
    const child = spawn(process.execPath, [BIN, "execute-flow-run", idArgument], {
      cwd,
      env: { ...process.env, ...env, ...(idArgument === "-" ? {} : { BATON_FLOW_RUN_ID: idArgument }), BATON_WORKER_LIFELINE: "stdin" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.on("error", () => undefined);
    return child;
  }

  /** Stops the spare (when the worker stops). */
  close(): void {
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
    if (this.spare && this.spare.key === key && this.spare.child.exitCode === null) {
      child = this.spare.child;
      child.stdin!.write(`${flowRunId}\n`);
    } else {
      this.close();
      child = this.spawnChild(flowRunId, env, cwd);
    }
    this.spare = { child: this.spawnChild("-", env, cwd), key };
    const errorLines: string[] = [];
    const forward = (data: Buffer, keep?: string[]) => {
      for (const raw of data.toString().split("\n")) {
        if (!raw.trim()) continue;
        const line = options.redact ? options.redact(raw) : raw;
        this.output(prefix + line);
        if (keep && keep.push(line) > KEPT_ERROR_LINES) keep.shift();
      }
    };
    child.stdout!.on("data", (data: Buffer) => forward(data));
    child.stderr!.on("data", (data: Buffer) => forward(data, errorLines));
    // At "close" the last stderr lines have been read; but a grandchild that inherited the
    // pipes may hold them open, so "exit" plus a moment is enough.
    const exited = new Promise<number | null>((resolve) => {
      child.once("close", (code) => resolve(code));
      child.once("exit", (code) => setTimeout(() => resolve(code), 200).unref());
    });
    return {
      exited,
      pid: child.pid,
      stop: (graceMs) => {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        timer.unref();
        void exited.then(() => clearTimeout(timer));
      },
      kill: () => void child.kill("SIGKILL"),
      lastErrorLines: () => [...errorLines],
    };
  }
}

export function infrastructureFor(type: string): Infrastructure {
  if (type === "process") return new ProcessInfrastructure();
  throw new TypeError(`work pool type "${type}" is not supported yet; supported: process`);
}
