/**
 * Runs one task call inside a worker thread: imports the task's module (which registers its
 * tasks), finds the task by name and calls its function. Importing the module runs its top
 * level again in this thread — see "CPU-bound tasks" in the README for what it must not do.
 */
import { BatonError, describeError } from "../core/errors.ts";
import { deserialize, serialize } from "../core/serializer.ts";
import { findTask, markWorkerThread } from "./task-registry.ts";
import type { ThreadOutcome } from "./thread-pool.ts";

markWorkerThread();

export async function runTaskInThread(job: { moduleUrl: string; taskName: string; args: string }): Promise<ThreadOutcome> {
  try {
    await import(job.moduleUrl);
    const def = findTask(job.moduleUrl, job.taskName);
    if (!def)
      throw new BatonError(`task "${job.taskName}" was not found after importing ${job.moduleUrl}; define it at the top level of that module`);
    const args = deserialize<unknown[]>(job.args);
    const value = await def.fn(...args);
    return { value: serialize(value, `the result of task "${job.taskName}"`) };
  } catch (error) {
    return { error: describeError(error) };
  }
}
