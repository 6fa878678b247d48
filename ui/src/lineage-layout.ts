/**
 * A lineage graph laid out in layers, left to right in the direction data flows: upstream, the
 * root on the right and what it was made from to its left; downstream, the root on the left.
 * A node's layer is its distance from the root (breadth first), so each layer is one step of
 * lineage. Pure: no DOM.
 */
import type { LineageGraph, LineageNode } from "./types.ts";

export const NODE_W = 220;
export const NODE_H = 44;
const GAP_X = 70;
const GAP_Y = 16;

export interface PlacedNode {
  node: LineageNode;
  x: number;
  y: number;
}

export interface LineageLayout {
  nodes: PlacedNode[];
  edges: { from: PlacedNode; to: PlacedNode; kind: string }[];
  width: number;
  height: number;
}

export function layoutLineage(graph: LineageGraph): LineageLayout {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  // Distances from the root, walking edges against (upstream) or along (downstream) their direction.
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const [a, b] = graph.direction === "upstream" ? [e.to, e.from] : [e.from, e.to];
    (next.get(a) ?? next.set(a, []).get(a)!).push(b);
  }
  const layer = new Map<string, number>([[graph.root, 0]]);
  const queue = [graph.root];
  while (queue.length) {
    const id = queue.shift()!;
    for (const n of next.get(id) ?? []) {
      if (layer.has(n)) continue;
      layer.set(n, layer.get(id)! + 1);
      queue.push(n);
    }
  }
  const depth = Math.max(0, ...layer.values());
  const columns: LineageNode[][] = Array.from({ length: depth + 1 }, () => []);
  for (const [id, l] of layer) columns[l]!.push(byId.get(id)!);
  const placed = new Map<string, PlacedNode>();
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  columns.forEach((column, l) => {
    const x = (graph.direction === "upstream" ? depth - l : l) * (NODE_W + GAP_X);
    const offset = ((tallest - column.length) * (NODE_H + GAP_Y)) / 2;
    column.forEach((node, i) => placed.set(node.id, { node, x, y: offset + i * (NODE_H + GAP_Y) }));
  });
  const edges = graph.edges.flatMap((e) => {
    const from = placed.get(e.from);
    const to = placed.get(e.to);
    return from && to ? [{ from, to, kind: e.kind }] : [];
  });
  return { nodes: [...placed.values()], edges, width: (depth + 1) * NODE_W + depth * GAP_X, height: tallest * (NODE_H + GAP_Y) - GAP_Y };
}
