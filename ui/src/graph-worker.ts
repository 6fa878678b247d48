/** Lays out a task graph off the main thread, so a large run's page never freezes on dagre. */
import type { GraphRows } from "./graph.ts";
import { layoutRows } from "./graph-layout.ts";

self.onmessage = (e: MessageEvent<{ seq: number; rows: GraphRows }>) => {
  const { seq, rows } = e.data;
  try {
    postMessage({ seq, layout: layoutRows(rows) });
  } catch (error) {
    postMessage({ seq, error: (error as Error).message });
  }
};
