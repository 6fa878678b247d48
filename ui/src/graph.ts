/**
 * Task graph layout: layers by longest path from the roots; task runs of the same task in the
 * same layer (a map) are grouped into one node that shows how many are in each state. So a run
 * with 10,000 mapped task runs draws a handful of nodes, not 10,000.
 */
import type { Dependency, TaskRun } from "./api.ts";

export interface GraphNode {
  id: string;
  label: string;
  layer: number;
  runs: TaskRun[];
  counts: Record<string, number>;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: "data" | "wait";
}

export const NODE_W = 180;
export const NODE_H = 46;
const GAP_X = 70;
const GAP_Y = 18;

export function layoutGraph(tasks: TaskRun[], deps: Dependency[]): { nodes: GraphNode[]; edges: GraphEdge[]; width: number; height: number } {
  const upstream = new Map<string, string[]>();
  for (const d of deps) upstream.set(d.taskRunId, [...(upstream.get(d.taskRunId) ?? []), d.upstreamTaskRunId]);
  const known = new Set(tasks.map((t) => t.id));
  const layer = new Map<string, number>();
  const depth = (id: string, seen = new Set<string>()): number => {
    const cached = layer.get(id);
    if (cached !== undefined) return cached;
    if (seen.has(id)) return 0;
    seen.add(id);
    const ups = (upstream.get(id) ?? []).filter((u) => known.has(u));
    const value = ups.length ? Math.max(...ups.map((u) => depth(u, seen))) + 1 : 0;
    layer.set(id, value);
    return value;
  };
  const groups = new Map<string, GraphNode>();
  const nodeOf = new Map<string, string>();
  for (const t of tasks) {
    const l = depth(t.id);
    const key = `${l}:${t.taskName}`;
    let node = groups.get(key);
    if (!node) {
      node = { id: key, label: t.taskName, layer: l, runs: [], counts: {}, x: 0, y: 0 };
      groups.set(key, node);
    }
    node.runs.push(t);
    node.counts[t.state.name] = (node.counts[t.state.name] ?? 0) + 1;
    nodeOf.set(t.id, key);
  }
  const nodes = [...groups.values()];
  const perLayer = new Map<number, GraphNode[]>();
  for (const n of nodes) perLayer.set(n.layer, [...(perLayer.get(n.layer) ?? []), n]);
  let height = 0;
  for (const [l, list] of perLayer) {
    list.forEach((n, i) => {
      n.x = 20 + l * (NODE_W + GAP_X);
      n.y = 20 + i * (NODE_H + GAP_Y);
    });
    height = Math.max(height, 20 + list.length * (NODE_H + GAP_Y));
  }
  const edgeKeys = new Set<string>();
  const edges: GraphEdge[] = [];
  for (const d of deps) {
    const from = nodeOf.get(d.upstreamTaskRunId);
    const to = nodeOf.get(d.taskRunId);
    if (!from || !to || from === to || edgeKeys.has(`${from}>${to}`)) continue;
    edgeKeys.add(`${from}>${to}`);
    edges.push({ from, to, kind: d.kind });
  }
  const width = 40 + (Math.max(0, ...nodes.map((n) => n.layer)) + 1) * (NODE_W + GAP_X);
  return { nodes, edges, width, height: Math.max(height, NODE_H + 40) };
}
