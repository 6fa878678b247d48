/**
 * Entrypoints, `path/to/file.ts:name`: where a deployment's flow lives. Stored relative to the
 * project root (the directory of baton.yaml, or the working directory of `serve()`) so a
 * deployment made on one machine runs on another, where the worker resolves the path against
 * its own working directory (or the job variable `cwd`). Absolute ones (older deployments)
 * keep working.
 */
import path from "node:path";

/** Splits `file:name` at the last colon (a Windows drive letter has one too). */
export function splitEntrypoint(entrypoint: string): { file: string; name: string } {
  const at = entrypoint.lastIndexOf(":");
  if (at <= 0 || at === entrypoint.length - 1) throw new TypeError(`entrypoint must be path/to/file.ts:flowName, got "${entrypoint}"`);
  return { file: entrypoint.slice(0, at), name: entrypoint.slice(at + 1) };
}

/** `file` relative to `root` with forward slashes, then `:name`. */
export function relativeEntrypoint(file: string, name: string, root: string): string {
  const relative = path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
  return `${relative}:${name}`;
}

/**
 * The tag of a flow run that is one attempt of a task with `workPool` (a task job): its
 * entrypoint names the task's module and the task (`file:taskName`), its parameters hold the
 * task's serialized arguments, and a worker's process runs that task once instead of a flow.
 */
export const TASK_JOB_TAG = "baton.task-job";
