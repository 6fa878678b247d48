/** The dashboard's task-graph module: grouping of task runs into nodes, and dagre's layout of them. */
import { describe, expect, it } from "vitest";
import { edgePath, groupTasks, layers, MAX_NODES, NODE_H, NODE_W, type GraphTask } from "../../ui/src/graph.ts";
import { layoutGraph } from "../../ui/src/graph-layout.ts";
import type { Dependency } from "../../ui/src/types.ts";

const dep = (taskRunId: string, upstreamTaskRunId: string, kind: "data" | "wait" = "data"): Dependency => ({ taskRunId, upstreamTaskRunId, kind });

/** extract → transform → score ×3 → reduce, plus a wait-only audit after extract. */
function pipeline(): { tasks: GraphTask[]; deps: Dependency[] } {
  const tasks = [
    { id: "e", taskName: "extract" },
    { id: "t", taskName: "transform" },
    { id: "s1", taskName: "score" },
    { id: "s2", taskName: "score" },
    { id: "s3", taskName: "score" },
    { id: "r", taskName: "reduce" },
    { id: "a", taskName: "audit" },
  ];
  const deps = [dep("t", "e"), dep("s1", "t"), dep("s2", "t"), dep("s3", "t"), dep("r", "s1"), dep("r", "s2"), dep("r", "s3"), dep("a", "e", "wait")];
  return { tasks, deps };
}

describe("task graph grouping", () => {
  it("groups a map's runs into one node and joins nodes along dependencies", () => {
    const { tasks, deps } = pipeline();
    const { groups, edges, note } = groupTasks(tasks, deps);
    expect(note).toBeNull();
    expect(groups.map((g) => [g.id, g.members.length])).toEqual([
      ["0:extract", 1],
      ["1:transform", 1],
      ["2:score", 3],
      ["3:reduce", 1],
      ["1:audit", 1],
    ]);
    expect(edges).toEqual([
      { from: "0:extract", to: "1:transform", kind: "data" },
      { from: "1:transform", to: "2:score", kind: "data" },
      { from: "2:score", to: "3:reduce", kind: "data" },
      { from: "0:extract", to: "1:audit", kind: "wait" },
    ]);
  });

  it("keeps runs of one task in different layers apart (a task called before and after another)", () => {
    const tasks = [
      { id: "a1", taskName: "step" },
      { id: "b", taskName: "check" },
      { id: "a2", taskName: "step" },
    ];
    const { groups, edges } = groupTasks(tasks, [dep("b", "a1"), dep("a2", "b")]);
    expect(groups.map((g) => g.id)).toEqual(["0:step", "1:check", "2:step"]);
    expect(edges.map((e) => `${e.from}>${e.to}`)).toEqual(["0:step>1:check", "1:check>2:step"]);
  });

  it("lays out a 10,000-long chain without recursion, grouped by task name past the node cap", () => {
    const n = 10_000;
    const tasks = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, taskName: i % 2 ? "odd" : "even" }));
    const deps = Array.from({ length: n - 1 }, (_, i) => dep(`c${i + 1}`, `c${i}`));
    const depth = layers(tasks, deps);
    expect(depth[n - 1]).toBe(n - 1);
    const { groups, edges, note } = groupTasks(tasks, deps);
    expect(groups.map((g) => [g.id, g.members.length])).toEqual([
      ["task:even", 5000],
      ["task:odd", 5000],
    ]);
    // even → odd and odd → even: a cycle between the two name groups, which dagre handles.
    expect(edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(["task:even>task:odd", "task:odd>task:even"]);
    expect(note).toMatch(/10,000 task runs would make more than \d+ nodes: grouped by task name/);
    const layout = layoutGraph(tasks, deps);
    expect(layout.nodes).toHaveLength(2);
  });

  it("caps thousands of distinct tasks at MAX_NODES, the smallest sharing an 'other tasks' node", () => {
    const tasks: GraphTask[] = [];
    for (let i = 0; i < 1000; i++) tasks.push({ id: `x${i}`, taskName: `task${i}` });
    for (let i = 0; i < 5; i++) tasks.push({ id: `big${i}`, taskName: "big" });
    const deps = tasks.slice(1).map((t, i) => dep(t.id, tasks[i]!.id));
    const { groups, note } = groupTasks(tasks, deps);
    expect(groups).toHaveLength(MAX_NODES);
    expect(groups.find((g) => g.id === "task:big")?.members).toHaveLength(5);
    const other = groups.find((g) => g.id === "other")!;
    expect(other.label).toBe(`other tasks (${1001 - (MAX_NODES - 1)})`);
    expect(other.members).toHaveLength(1005 - 5 - (MAX_NODES - 2));
    expect(note).toBe(`1,001 distinct tasks: the ${MAX_NODES - 1} largest are drawn, the rest share one node`);
  });
});

describe("task graph layout (dagre)", () => {
  const inside = (p: { x: number; y: number }, n: { x: number; y: number }) => p.x > n.x + 1 && p.x < n.x + NODE_W - 1 && p.y > n.y + 1 && p.y < n.y + NODE_H - 1;
  const onBoundary = (p: { x: number; y: number }, n: { x: number; y: number }) =>
    !inside(p, n) && p.x >= n.x - 1 && p.x <= n.x + NODE_W + 1 && p.y >= n.y - 1 && p.y <= n.y + NODE_H + 1;

  it("places nodes left to right without overlaps, edges from one node's side to the other's", () => {
    const { tasks, deps } = pipeline();
    const layout = layoutGraph(tasks, deps);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect(at.get("0:extract")!.x).toBeLessThan(at.get("1:transform")!.x);
    expect(at.get("1:transform")!.x).toBeLessThan(at.get("2:score")!.x);
    expect(at.get("2:score")!.x).toBeLessThan(at.get("3:reduce")!.x);
    for (const a of layout.nodes)
      for (const b of layout.nodes) if (a !== b) expect(Math.abs(a.x - b.x) >= NODE_W || Math.abs(a.y - b.y) >= NODE_H).toBe(true);
    for (const e of layout.edges) {
      const from = at.get(e.from)!;
      const to = at.get(e.to)!;
      expect(e.points.length).toBeGreaterThanOrEqual(2);
      expect(onBoundary(e.points[0]!, from)).toBe(true);
      expect(onBoundary(e.points.at(-1)!, to)).toBe(true);
      for (const n of layout.nodes) for (const p of e.points) expect(inside(p, n)).toBe(false);
    }
    expect(layout.width).toBeGreaterThanOrEqual(4 * NODE_W);
  });

  it("routes an edge that skips a layer around the node in between", () => {
    const tasks = [
      { id: "a", taskName: "a" },
      { id: "b", taskName: "b" },
      { id: "c", taskName: "c" },
    ];
    const layout = layoutGraph(tasks, [dep("b", "a"), dep("c", "b"), dep("c", "a")]);
    const skip = layout.edges.find((e) => e.from === "0:a" && e.to === "2:c")!;
    const middle = layout.nodes.find((n) => n.id === "1:b")!;
    expect(skip.points.length).toBeGreaterThan(2);
    for (const p of skip.points) expect(inside(p, middle)).toBe(false);
    expect(edgePath(skip.points)).toMatch(/^M[\d.]+,[\d.]+(L|C)/);
  });

  it("draws a two-point edge as a line and a longer one as a spline", () => {
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 5 }])).toBe("M0,0L10,5");
    // d3's curveBasis through (0,0) (6,0) (12,6), computed by hand.
    expect(edgePath([{ x: 0, y: 0 }, { x: 6, y: 0 }, { x: 12, y: 6 }])).toBe("M0,0L1,0C2,0 4,0 6,1C8,2 10,4 11,5L12,6");
  });
});

describe("sub-flows in the task graph", () => {
  it("are nodes of their own, never merged with a task of the same name, after the task run that called them", () => {
    const tasks: GraphTask[] = [
      { id: "a", taskName: "load" },
      { id: "c", taskName: "calls" },
      { id: "f1", taskName: "load", kind: "flow" },
      { id: "f2", taskName: "child", kind: "flow" },
    ];
    const { groups, edges } = groupTasks(tasks, [dep("f2", "c", "wait")]);
    expect(groups.map((g) => [g.id, g.kind, g.members.length])).toEqual([
      ["0:load", "task", 1],
      ["0:calls", "task", 1],
      ["0:flow:load", "flow", 1],
      ["1:flow:child", "flow", 1],
    ]);
    expect(edges).toEqual([{ from: "0:calls", to: "1:flow:child", kind: "wait" }]);
  });
});
