/**
 * The worker-thread pool for `runner: "threads"` tasks (piscina), sized to the machine's cores.
 * A job names the task by its module and name; arguments and results cross the thread
 * boundary through the result serialiser, so a value that could not be stored fails the same
 * way here; an error keeps its class (see `ThreadOutcome`). Aborting a job (a timeout, a
 * cancelled flow) terminates its thread.
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import { errorFromInfo, type ErrorInfo } from "../core/errors.ts";
import type { AttemptUsage } from "../core/resources.ts";
import { deserialize, serialize } from "../core/serializer.ts";
import { Semaphore } from "./semaphore.ts";
import type { TraceCarrier } from "../telemetry/trace-context.ts";

// Beside this file both in src/ and in dist/ (the build copies it).
const WORKER_ENTRY = fileURLToPath(new URL("thread-worker.mjs", import.meta.url));

/**
 * What a thread hands back: the serialised value, or the error described as data. A thrown
 * error would cross as a structured clone, which keeps only the built-in classes: a
 * `NonRetryableError` would arrive as a plain `Error` and be retried.
 */
export type ThreadOutcome = ({ value: string } | { error: ErrorInfo }) & { usage?: AttemptUsage };

export interface ThreadJob {
  moduleUrl: string;
  taskName: string;
  args: unknown[];
  /** The trace context of the task run's span (tracing on): the parent of spans made in the thread. */
  trace?: TraceCarrier;
}

export class ThreadPool {
  private readonly piscina: Piscina;
  /** One slot per thread: task runs wait here (Pending) rather than in piscina's queue. */
  readonly slots: Semaphore;

  constructor(size = Number(process.env.BATON_THREADS) || os.availableParallelism()) {
    this.piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: 0,
      maxThreads: size,
      idleTimeout: 5_000,
      // Threads must not inherit the parent's stdin handling or argv-based behaviour.
      argv: [],
    });
    this.slots = new Semaphore(size);
  }

  get size(): number {
    return this.piscina.options.maxThreads;
  }

  /**
   * Runs the job in a thread. `receiveValues` gets the main end of the port on which the task
   * sends what it logs (thread-values.ts); the port closes when the job ends. `onUsage` gets
   * what the task used, as the thread measured it (resource-meter.ts), whether it failed or not.
   */
  async run(job: ThreadJob, signal: AbortSignal, receiveValues: (port: MessagePort) => void, onUsage?: (usage: AttemptUsage) => void): Promise<unknown> {
    const args = serialize(job.args, `the arguments of task "${job.taskName}"`);
    const { port1, port2 } = new MessageChannel();
    receiveValues(port1);
    try {
      const payload = { moduleUrl: job.moduleUrl, taskName: job.taskName, args, values: port2, trace: job.trace };
      const out = (await this.piscina.run(payload, { signal, transferList: [port2] })) as ThreadOutcome;
      if (out.usage) onUsage?.(out.usage);
      if ("error" in out) throw errorFromInfo(out.error);
      return deserialize(out.value);
    } finally {
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.piscina.close({ force: true });
  }
}
