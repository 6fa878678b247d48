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

/**
 * A task graph by row, the form the layout worker is sent: typed arrays, transferred without a
 * copy, instead of an object per task run and per dependency (100,000 of each for a large map).
 */
export interface GraphRows {
  /** Per row, an index into `names`. */
  name: Int32Array;
  /** Task names and sub-flows' flow names (`kind: "flow"`), each once. */
  names: { taskName: string; kind: "task" | "flow" }[];
  /** Triples of rows: the task run, its upstream, 0 = data / 1 = wait. */
  deps: Int32Array;
}

/** The rows of task runs named by id, and of their dependencies (those between known runs). */
export function toRows(tasks: readonly GraphTask[], deps: readonly Dependency[]): GraphRows {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const names: GraphRows["names"] = [];
  const nameIndex = new Map<string, number>();
  const name = new Int32Array(tasks.length);
  tasks.forEach((t, i) => {
    const key = nameKey(t);
    let k = nameIndex.get(key);
    if (k === undefined) {
      k = names.push({ taskName: t.taskName, kind: t.kind ?? "task" }) - 1;
      nameIndex.set(key, k);
    }
    name[i] = k;
  });
  const triples: number[] = [];
  for (const d of deps) {
    const to = index.get(d.taskRunId);
    const from = index.get(d.upstreamTaskRunId);
    if (to !== undefined && from !== undefined) triples.push(to, from, d.kind === "wait" ? 1 : 0);
  }
  return { name, names, deps: Int32Array.from(triples) };
}

/** Each task's longest distance from a root (a task with no known upstream). */
export function layers(tasks: readonly GraphTask[], deps: readonly Dependency[]): Int32Array {
  return layersOfRows(toRows(tasks, deps));
}

/** Each row's longest distance from a root, along the rows' dependencies. */
export function layersOfRows({ name, deps }: GraphRows): Int32Array {
  const n = name.length;
  // The downstream rows of each row, as a compressed adjacency list (no array per row).
  const indegree = new Int32Array(n);
  const outdegree = new Int32Array(n + 1);
  for (let k = 0; k + 2 < deps.length; k += 3) {
    if (deps[k] === deps[k + 1]) continue;
    outdegree[deps[k + 1]!]!++;
    indegree[deps[k]!]!++;
  }
  const first = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) first[i + 1] = first[i]! + outdegree[i]!;
  const fill = first.slice(0, n);
  const downstream = new Int32Array(first[n]!);
  for (let k = 0; k + 2 < deps.length; k += 3) if (deps[k] !== deps[k + 1]) downstream[fill[deps[k + 1]!]!++] = deps[k]!;
  const layer = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue[tail++] = i;
  for (let head = 0; head < tail; head++) {
    const u = queue[head]!;
    for (let e = first[u]!; e < first[u + 1]!; e++) {
      const v = downstream[e]!;
      if (layer[u]! + 1 > layer[v]!) layer[v] = layer[u]! + 1;
      if (--indegree[v]! === 0) queue[tail++] = v;
    }
  }
  // Task runs on a cycle (not possible from the engine, but the data is not ours to trust)
  // never reach indegree 0: they keep the layer their placed upstreams gave them.
  return layer;
}

/** What groups a run by name: a task's name, or a sub-flow's (never merged with a task of the same name). */
const nameKey = (t: { taskName: string; kind?: "task" | "flow" }) => (t.kind === "flow" ? `flow:${t.taskName}` : t.taskName);

/** Groups task runs into at most `maxNodes` nodes, with the edges between them. */
export function groupTasks(tasks: readonly GraphTask[], deps: readonly Dependency[], maxNodes = MAX_NODES): Grouping {
  return groupRows(toRows(tasks, deps), maxNodes);
}

/** Groups rows into at most `maxNodes` nodes, with the edges between them. */
export function groupRows(rows: GraphRows, maxNodes = MAX_NODES): Grouping {
  const layer = layersOfRows(rows);
  const { name, names } = rows;
  const nameKeys = names.map(nameKey);
  let note: string | null = null;
  // One key string per (layer, name) pair, not per row.
  const keys = new Map<number, string>();
  let keyOf = (i: number) => {
    const code = layer[i]! * names.length + name[i]!;
    let key = keys.get(code);
    if (key === undefined) keys.set(code, (key = `${layer[i]}:${nameKeys[name[i]!]}`));
    return key;
  };
  let groups = collect(rows, keyOf);
  if (groups.size > maxNodes) {
    const byName = nameKeys.map((k) => `task:${k}`);
    keyOf = (i: number) => byName[name[i]!]!;
    groups = collect(rows, keyOf);
    note = `${name.length.toLocaleString("en")} task runs would make more than ${maxNodes} nodes: grouped by task name`;
    if (groups.size > maxNodes) {
      const kept = new Set([...groups.values()].sort((a, b) => b.members.length - a.members.length || a.taskName.localeCompare(b.taskName)).slice(0, maxNodes - 1).map((g) => g.id));
      const count = groups.size;
      keyOf = (i: number) => {
        const key = byName[name[i]!]!;
        return kept.has(key) ? key : "other";
      };
      groups = collect(rows, keyOf);
      const other = groups.get("other")!;
      other.kind = "task";
      other.label = `other tasks (${(count - kept.size).toLocaleString("en")})`;
      note = `${count.toLocaleString("en")} distinct tasks: the ${maxNodes - 1} largest are drawn, the rest share one node`;
    }
  }
  const list = [...groups.values()];
  const groupOf = new Int32Array(name.length);
  list.forEach((g, k) => {
    for (const i of g.members) groupOf[i] = k;
  });
  const seen = new Map<number, GraphEdge>();
  const { deps } = rows;
  for (let k = 0; k + 2 < deps.length; k += 3) {
    const a = groupOf[deps[k + 1]!]!;
    const b = groupOf[deps[k]!]!;
    if (a === b) continue;
    const key = a * list.length + b;
    const kind = deps[k + 2] === 1 ? "wait" : "data";
    const existing = seen.get(key);
    // A data dependency between two nodes wins over a wait-only one: the edge is drawn solid.
    if (!existing) seen.set(key, { from: list[a]!.id, to: list[b]!.id, kind });
    else if (kind === "data") existing.kind = "data";
  }
  return { groups: list, edges: [...seen.values()], note };
}

function collect({ name, names }: GraphRows, keyOf: (i: number) => string): Map<string, GraphGroup> {
  const groups = new Map<string, GraphGroup>();
  for (let i = 0; i < name.length; i++) {
    const key = keyOf(i);
    let group = groups.get(key);
    if (!group) {
      const n = names[name[i]!]!;
      group = { id: key, label: n.taskName, taskName: n.taskName, kind: n.kind, members: [] };
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
