/**
 * Tasks by defining module and name, so a worker thread can find a task after importing its
 * module. One registry per process (per thread), shared by every copy of Baton loaded in it
 * (process-wide.ts): the thread's copy finds a task whichever copy defined it.
 */
import { processWide } from "./process-wide.ts";
import type { TaskDefinition } from "./task-runner.ts";

const registry = processWide("task-registry", () => new Map<string, TaskDefinition>(), (value): value is Map<string, TaskDefinition> => value instanceof Map);

/** Registers a task under the name it was defined with (copies made by `with` share it). */
export function registerTask(def: TaskDefinition): void {
  if (def.moduleUrl) registry.set(`${def.moduleUrl}#${def.definedAs}`, def);
}

export function findTask(moduleUrl: string, name: string): TaskDefinition | undefined {
  return registry.get(`${moduleUrl}#${name}`);
}

/** The names of the tasks `moduleUrl` defined, for messages. */
export function taskNamesOf(moduleUrl: string): string[] {
  return [...registry.values()].filter((def) => def.moduleUrl === moduleUrl).map((def) => def.definedAs);
}

const THREAD_KEY = Symbol.for("baton.inWorkerThread");

/** True inside a Baton worker thread, where flows must not start. */
export function inWorkerThread(): boolean {
  return (globalThis as Record<symbol, unknown>)[THREAD_KEY] === true;
}

export function markWorkerThread(): void {
  (globalThis as Record<symbol, unknown>)[THREAD_KEY] = true;
}
