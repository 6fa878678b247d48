/** Lays a grouped task graph out left to right with dagre (in the graph worker, and in tests). */
import dagre from "@dagrejs/dagre";
import { groupRows, MAX_NODES, NODE_H, NODE_W, toRows, type GraphLayout, type GraphRows, type GraphTask, type Point } from "./graph.ts";
import type { Dependency } from "./types.ts";

/** Groups the task runs and lays the nodes out left to right with dagre. */
export function layoutGraph(tasks: readonly GraphTask[], deps: readonly Dependency[], maxNodes = MAX_NODES): GraphLayout {
  return layoutRows(toRows(tasks, deps), maxNodes);
}

/** Groups the rows and lays the nodes out left to right with dagre. */
export function layoutRows(rows: GraphRows, maxNodes = MAX_NODES): GraphLayout {
  const { groups, edges, note } = groupRows(rows, maxNodes);
  const g = new dagre.graphlib.Graph<object, { width: number; height: number; x?: number; y?: number }, { points?: Point[] }>();
  g.setGraph({ rankdir: "LR", nodesep: 16, ranksep: 56, edgesep: 8, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const group of groups) g.setNode(group.id, { width: NODE_W, height: NODE_H });
  for (const e of edges) g.setEdge(e.from, e.to);
  // Past a few dozen nodes dagre's extra crossing-reduction pass costs more than it gains.
  dagre.layout(g, { disableOptimalOrderHeuristic: groups.length > 40 });
  const label = g.graph() as { width?: number; height?: number };
  const nodes = groups.map((group) => {
    const n = g.node(group.id);
    return { ...group, x: (n.x ?? 0) - NODE_W / 2, y: (n.y ?? 0) - NODE_H / 2 };
  });
  return {
    nodes,
    edges: edges.map((e) => ({ ...e, points: g.edge(e.from, e.to)?.points ?? [] })),
    width: Math.max(label.width ?? 0, NODE_W + 32),
    height: Math.max(label.height ?? 0, NODE_H + 32),
    note,
  };
}
