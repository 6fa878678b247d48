/** Lays out a task graph off the main thread, so a large run's page never freezes on dagre. */
import type { GraphTask } from "./graph.ts";
import { layoutGraph } from "./graph-layout.ts";
import type { Dependency } from "./types.ts";

self.onmessage = (e: MessageEvent<{ seq: number; tasks: GraphTask[]; deps: Dependency[] }>) => {
  const { seq, tasks, deps } = e.data;
  try {
    postMessage({ seq, layout: layoutGraph(tasks, deps) });
  } catch (error) {
    postMessage({ seq, error: (error as Error).message });
  }
};
