/** Text formatting shared by CLI commands. */
import type { TaskRun } from "../store/types.ts";

/** "12 Completed, 3 Cached, 1 Failed" */
export function summariseTaskRuns(taskRuns: readonly TaskRun[]): string {
  const counts = new Map<string, number>();
  for (const run of taskRuns) counts.set(run.state.name, (counts.get(run.state.name) ?? 0) + 1);
  return counts.size ? [...counts].map(([name, n]) => `${n} ${name}`).join(", ") : "none";
}
