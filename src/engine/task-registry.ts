/**
 * Tasks by defining module and name, so a worker thread can find a task after importing its
 * module. The registry lives on `globalThis` because the same module may be loaded twice
 * (from source and from dist) and both copies must share it.
 */
import type { TaskDefinition } from "./task-runner.ts";

const KEY = Symbol.for("baton.taskRegistry");
const globals = globalThis as unknown as Record<symbol, Map<string, TaskDefinition> | undefined>;
const registry: Map<string, TaskDefinition> = (globals[KEY] ??= new Map());

/** Registers a task under the name it was defined with (copies made by `with` share it). */
export function registerTask(def: TaskDefinition): void {
  if (def.moduleUrl) registry.set(`${def.moduleUrl}#${def.definedAs}`, def);
}

export function findTask(moduleUrl: string, name: string): TaskDefinition | undefined {
  return registry.get(`${moduleUrl}#${name}`);
}

const THREAD_KEY = Symbol.for("baton.inWorkerThread");

/** True inside a Baton worker thread, where flows must not start. */
export function inWorkerThread(): boolean {
  return (globalThis as Record<symbol, unknown>)[THREAD_KEY] === true;
}

export function markWorkerThread(): void {
  (globalThis as Record<symbol, unknown>)[THREAD_KEY] = true;
}
