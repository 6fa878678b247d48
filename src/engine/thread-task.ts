/**
 * Runs one task call inside a worker thread: imports the task's module (which registers its
 * tasks), finds the task by name and calls its function. Importing the module runs its top
 * level again in this thread — see "CPU-bound tasks" in the README for what it must not do.
 */
import { BatonError, describeError } from "../core/errors.ts";
import { deserialize, serialize } from "../core/serializer.ts";
import type { MessagePort } from "node:worker_threads";
import { findTask, markWorkerThread } from "./task-registry.ts";
import type { ThreadOutcome } from "./thread-pool.ts";
import { ThreadValuesSender, withThreadValues } from "./thread-values.ts";
import { measureInThread } from "./resource-meter.ts";
import { context } from "@opentelemetry/api";
import { flushTracing, startTracing, tracing } from "../telemetry/tracing.ts";
import { contextOf, type TraceCarrier } from "../telemetry/trace-context.ts";

markWorkerThread();

export async function runTaskInThread(job: { moduleUrl: string; taskName: string; args: string; values: MessagePort; trace?: TraceCarrier }): Promise<ThreadOutcome> {
  // What the task logs (logParams, logMetric) goes to the main thread as it is logged.
  const values = new ThreadValuesSender(job.values);
  let usage: ThreadOutcome["usage"];
  try {
    await import(job.moduleUrl);
    const def = findTask(job.moduleUrl, job.taskName);
    if (!def)
      throw new BatonError(`task "${job.taskName}" was not found after importing ${job.moduleUrl}; define it at the top level of that module`);
    const args = deserialize<unknown[]>(job.args);
    // Traced: the thread has its own tracer provider (same environment), and the task's function
    // runs in the context of the task run's span on the main thread.
    if (job.trace) await startTracing();
    const call = () => withThreadValues(values, () => def.fn(...args));
    const traced = () => (job.trace && tracing.enabled ? context.with(contextOf(job.trace), call) : call());
    // Measured around the call alone: importing the module is the thread's start, not the task.
    const measured = await measureInThread(async () => {
      try {
        return { ok: true as const, value: await traced() };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
    usage = measured.usage;
    if (!measured.value.ok) throw measured.value.error;
    return { value: serialize(measured.value.value, `the result of task "${job.taskName}"`), usage };
  } catch (error) {
    return { error: describeError(error), usage };
  } finally {
    await values.finish();
    // An idle thread is ended without notice: its spans leave with its job.
    if (job.trace) await flushTracing();
  }
}
