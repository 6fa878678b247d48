/**
 * The task graph of a flow run: task runs grouped into nodes, laid out by dagre.
 *
 * Grouping: every task run gets a layer, its longest distance from a root along dependencies
 * (Kahn's algorithm, iterative: a 10,000-long chain is no deeper a stack than a single task).
 * Task runs of one task in one layer — the runs of a map — become one node that counts their
 * states, so a 10,000-way map draws one node, not 10,000. When that still leaves more than
 * `maxNodes` nodes (a long chain of distinct calls, thousands of distinct tasks) the runs are
 * grouped by task name alone, and past `maxNodes` names the smallest tasks share one "other
 * tasks" node; `note` says so on the page. That cap keeps dagre's layout (super-linear in
 * nodes and edge length) within a fraction of a second.
 *
 * Sub-flow runs are nodes too (`kind: "flow"`, grouped like a task's runs but never with a
 * task of the same name), after the task run that called them when one did.
 *
 * Edges join the nodes of a dependency's two task runs (one edge per pair of nodes), and are
 * drawn along the points dagre routes them through, around other nodes (graph-layout.ts,
 * which runs in a Web Worker: dagre stays out of the page's script).
 */
import type { Dependency } from "./types.ts";

export const NODE_W = 190;
export const NODE_H = 46;
/** The most nodes drawn; beyond it runs are grouped by task name. */
export const MAX_NODES = 100;

export interface GraphTask {
  id: string;
  /** A task's name, or a sub-flow's flow name. */
  taskName: string;
  /** "flow": a sub-flow run, drawn as its own node that opens its run. */
  kind?: "task" | "flow";
}

export interface GraphGroup {
  id: string;
  label: string;
  taskName: string;
  kind: "task" | "flow";
  /** Indices into the task list of the runs this node stands for. */
  members: number[];
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: "data" | "wait";
}

export interface Grouping {
  groups: GraphGroup[];
  edges: GraphEdge[];
  note: string | null;
}

export interface Point {
  x: number;
  y: number;
}

export interface PlacedNode extends GraphGroup {
  /** Top-left corner. */
  x: number;
  y: number;
}

export interface RoutedEdge extends GraphEdge {
  points: Point[];
}

export interface GraphLayout {
  nodes: PlacedNode[];
  edges: RoutedEdge[];
  width: number;
  height: number;
  note: string | null;
}

/** Each task's longest distance from a root (a task with no known upstream). */
export function layers(tasks: readonly GraphTask[], deps: readonly Dependency[]): Int32Array {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const downstream: number[][] = tasks.map(() => []);
  const indegree = new Int32Array(tasks.length);
  for (const d of deps) {
    const from = index.get(d.upstreamTaskRunId);
    const to = index.get(d.taskRunId);
    if (from === undefined || to === undefined || from === to) continue;
    downstream[from]!.push(to);
    indegree[to]!++;
  }
  const layer = new Int32Array(tasks.length);
  const queue: number[] = [];
  for (let i = 0; i < tasks.length; i++) if (indegree[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    for (const v of downstream[u]!) {
      if (layer[u]! + 1 > layer[v]!) layer[v] = layer[u]! + 1;
      if (--indegree[v]! === 0) queue.push(v);
    }
  }
  // Task runs on a cycle (not possible from the engine, but the data is not ours to trust)
  // never reach indegree 0: they keep the layer their placed upstreams gave them.
  return layer;
}

/** What groups a run by name: a task's name, or a sub-flow's (never merged with a task of the same name). */
const nameKey = (t: GraphTask) => (t.kind === "flow" ? `flow:${t.taskName}` : t.taskName);

/** Groups task runs into at most `maxNodes` nodes, with the edges between them. */
export function groupTasks(tasks: readonly GraphTask[], deps: readonly Dependency[], maxNodes = MAX_NODES): Grouping {
  const layer = layers(tasks, deps);
  let note: string | null = null;
  let keyOf = (i: number) => `${layer[i]}:${nameKey(tasks[i]!)}`;
  let groups = collect(tasks, keyOf);
  if (groups.size > maxNodes) {
    keyOf = (i: number) => `task:${nameKey(tasks[i]!)}`;
    groups = collect(tasks, keyOf);
    note = `${tasks.length.toLocaleString("en")} task runs would make more than ${maxNodes} nodes: grouped by task name`;
    if (groups.size > maxNodes) {
      const kept = new Set([...groups.values()].sort((a, b) => b.members.length - a.members.length || a.taskName.localeCompare(b.taskName)).slice(0, maxNodes - 1).map((g) => g.id));
      const names = groups.size;
      keyOf = (i: number) => {
        const key = `task:${nameKey(tasks[i]!)}`;
        return kept.has(key) ? key : "other";
      };
      groups = collect(tasks, keyOf);
      const other = groups.get("other")!;
      other.kind = "task";
      other.label = `other tasks (${(names - kept.size).toLocaleString("en")})`;
      note = `${names.toLocaleString("en")} distinct tasks: the ${maxNodes - 1} largest are drawn, the rest share one node`;
    }
  }
  const index = new Map<string, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const seen = new Map<string, GraphEdge>();
  for (const d of deps) {
    const from = index.get(d.upstreamTaskRunId);
    const to = index.get(d.taskRunId);
    if (from === undefined || to === undefined) continue;
    const a = keyOf(from);
    const b = keyOf(to);
    if (a === b) continue;
    const key = `${a}\u0000${b}`;
    const existing = seen.get(key);
    // A data dependency between two nodes wins over a wait-only one: the edge is drawn solid.
    if (!existing) seen.set(key, { from: a, to: b, kind: d.kind });
    else if (d.kind === "data") existing.kind = "data";
  }
  return { groups: [...groups.values()], edges: [...seen.values()], note };
}

function collect(tasks: readonly GraphTask[], keyOf: (i: number) => string): Map<string, GraphGroup> {
  const groups = new Map<string, GraphGroup>();
  for (let i = 0; i < tasks.length; i++) {
    const key = keyOf(i);
    let group = groups.get(key);
    if (!group) {
      group = { id: key, label: tasks[i]!.taskName, taskName: tasks[i]!.taskName, kind: tasks[i]!.kind ?? "task", members: [] };
      groups.set(key, group);
    }
    group.members.push(i);
  }
  return groups;
}

/** An SVG path through dagre's edge points: a B-spline, as d3's curveBasis draws it. */
export function edgePath(points: readonly Point[]): string {
  let d = "";
  let [x0, y0, x1, y1] = [NaN, NaN, NaN, NaN];
  let seen = 0;
  const bezier = (x: number, y: number) => {
    d += `C${(2 * x0 + x1) / 3},${(2 * y0 + y1) / 3} ${(x0 + 2 * x1) / 3},${(y0 + 2 * y1) / 3} ${(x0 + 4 * x1 + x) / 6},${(y0 + 4 * y1 + y) / 6}`;
  };
  for (const { x, y } of points) {
    if (seen === 0) d += `M${x},${y}`;
    else if (seen >= 2) {
      if (seen === 2) d += `L${(5 * x0 + x1) / 6},${(5 * y0 + y1) / 6}`;
      bezier(x, y);
    }
    seen++;
    [x0, y0, x1, y1] = [x1, y1, x, y];
  }
  if (seen >= 3) bezier(x1, y1);
  if (seen >= 2) d += `L${x1},${y1}`;
  return d;
}
