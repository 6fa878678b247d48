/**
 * The worker-thread pool for `runner: "threads"` tasks (piscina), sized to the machine's cores.
 * A job names the task by its module and name; arguments and results cross the thread
 * boundary through the result serialiser, so a value that could not be stored fails the same
 * way here; an error keeps its class (see `ThreadOutcome`). Aborting a job (a timeout, a
 * cancelled flow) terminates its thread.
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { errorFromInfo, type ErrorInfo } from "../core/errors.ts";
import { deserialize, serialize } from "../core/serializer.ts";
import { Semaphore } from "./semaphore.ts";

// Beside this file both in src/ and in dist/ (the build copies it).
const WORKER_ENTRY = fileURLToPath(new URL("thread-worker.mjs", import.meta.url));

/**
 * What a thread hands back: the serialised value, or the error described as data. A thrown
 * error would cross as a structured clone, which keeps only the built-in classes: a
 * `NonRetryableError` would arrive as a plain `Error` and be retried.
 */
export type ThreadOutcome = { value: string } | { error: ErrorInfo };

export interface ThreadJob {
  moduleUrl: string;
  taskName: string;
  args: unknown[];
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

  async run(job: ThreadJob, signal: AbortSignal): Promise<unknown> {
    const payload = { moduleUrl: job.moduleUrl, taskName: job.taskName, args: serialize(job.args, `the arguments of task "${job.taskName}"`) };
    const out = (await this.piscina.run(payload, { signal })) as ThreadOutcome;
    if ("error" in out) throw errorFromInfo(out.error);
    return deserialize(out.value);
  }

  async close(): Promise<void> {
    await this.piscina.close({ force: true });
  }
}
