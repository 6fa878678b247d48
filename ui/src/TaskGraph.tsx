/**
 * The task graph: nodes coloured by state (a group shows how many of its runs are in each),
 * edges as dagre routes them, sub-flow runs as nodes of their own. The layout is computed in a
 * Web Worker and only when the graph's structure changes (a full reload, a new sub-flow); live
 * state changes only recount the nodes' states. Clicking a node opens its task run (or sub-flow
 * run), or for a group filters the task table to its task.
 *
 * The view fits the graph to the page's width at first (never enlarging it); the buttons zoom
 * in and out, back to fit or to 100%, Ctrl/⌘ + wheel zooms at the pointer, and dragging pans.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type PointerEvent } from "react";
import { edgePath, NODE_H, NODE_W, type GraphLayout, type GraphRows } from "./graph.ts";
import type { FlowRun, TaskRun } from "./types.ts";
import type { TaskList } from "./run-data.ts";
import { navigate } from "./router.ts";

/** What was laid out: the fetched task list and the sub-flows after it (rows past the list's). */
type GraphInput = { structure: TaskList; subflows: FlowRun[] };

/** The tallest the graph's box grows before it scrolls by panning instead. */
const MAX_HEIGHT = 560;
const MIN_SCALE = 0.1;
const MAX_SCALE = 3;

function useLayout(input: GraphInput): { laidOut: GraphInput | null; layout: GraphLayout | null; error: string | null } {
  const [result, setResult] = useState<{ laidOut: GraphInput | null; layout: GraphLayout | null; error: string | null }>({ laidOut: null, layout: null, error: null });
  const worker = useRef<Worker | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    const w = new Worker(new URL("./graph-worker.ts", import.meta.url), { type: "module" });
    worker.current = w;
    return () => w.terminate();
  }, []);
  useEffect(() => {
    const w = worker.current!;
    const mine = ++seq.current;
    const onMessage = (e: MessageEvent<{ seq: number; layout?: GraphLayout; error?: string }>) => {
      if (e.data.seq !== mine) return;
      setResult({ laidOut: input, layout: e.data.layout ?? null, error: e.data.error ?? null });
    };
    w.addEventListener("message", onMessage);
    const rows = graphRows(input);
    w.postMessage({ seq: mine, rows }, [rows.name.buffer, rows.deps.buffer]);
    return () => w.removeEventListener("message", onMessage);
  }, [input]);
  // Until the new structure is laid out, the previous layout stays on screen.
  return result;
}

/** The view's zoom and pan: `fit` follows the box's width until the user zooms or pans. */
interface View {
  scale: number;
  x: number;
  y: number;
  fit: boolean;
}

function fitView(layout: GraphLayout, width: number): View {
  const scale = Math.max(MIN_SCALE, Math.min(1, width / layout.width, MAX_HEIGHT / layout.height));
  return { scale, x: Math.max(0, (width - layout.width * scale) / 2), y: 0, fit: true };
}

const NO_SUBFLOWS: FlowRun[] = [];

/** The rows the layout worker is sent: the task list's, then one per sub-flow after its calling task run. */
function graphRows({ structure, subflows }: GraphInput): GraphRows {
  const n = structure.items.length;
  const names: GraphRows["names"] = structure.taskNames.map((taskName) => ({ taskName, kind: "task" }));
  const name = new Int32Array(n + subflows.length);
  name.set(structure.names);
  const deps: number[] = [];
  let rowOf: Map<string, number> | null = null;
  const flowNames = new Map<string, number>();
  subflows.forEach((c, k) => {
    let f = flowNames.get(c.flowName);
    if (f === undefined) flowNames.set(c.flowName, (f = names.push({ taskName: c.flowName, kind: "flow" }) - 1));
    name[n + k] = f;
    if (!c.parentTaskRunId) return;
    rowOf ??= new Map(structure.items.map((t, i) => [t.id, i]));
    const parent = rowOf.get(c.parentTaskRunId);
    if (parent !== undefined) deps.push(n + k, parent, 1);
  });
  const all = new Int32Array(structure.deps.length + deps.length);
  all.set(structure.deps);
  all.set(deps, structure.deps.length);
  return { name, names, deps: all };
}

export function TaskGraph({ structure, tasks, subflows = NO_SUBFLOWS, onGroup }: { structure: TaskList; tasks: TaskRun[]; subflows?: FlowRun[]; onGroup: (taskName: string) => void }) {
  // Sub-flows join the structure laid out; the layout runs again only when the set of them changes.
  const subflowKey = subflows.map((c) => c.id).join(",");
  // Keyed on the sub-flows' ids: their state changes do not change the structure.
  const input = useMemo<GraphInput>(() => ({ structure, subflows }), [structure, subflowKey]);
  const { laidOut, layout, error } = useLayout(input);
  // Node members are rows of the list the layout was computed from. The current list (live
  // states) has the same rows while no new fetch came in; otherwise runs are looked up by id.
  const runOf = useMemo(() => {
    const flows = new Map(subflows.map((c) => [c.id, c]));
    let byId: Map<string, TaskRun> | null = null;
    return (i: number): { id: string; state: { name: string; type: string }; key: string } | undefined => {
      if (!laidOut) return undefined;
      const items = laidOut.structure.items;
      if (i >= items.length) {
        const c = flows.get(laidOut.subflows[i - items.length]?.id ?? "");
        return c && { id: c.id, state: c.state, key: c.name };
      }
      const id = items[i]!.id;
      let t = tasks[i]?.id === id ? tasks[i] : undefined;
      if (!t) {
        byId ??= new Map(tasks.map((x) => [x.id, x]));
        t = byId.get(id);
      }
      return t && { id, state: t.state, key: t.taskKey };
    };
  }, [laidOut, tasks, subflows]);
  const summaries = useMemo(
    () =>
      new Map(
        (layout?.nodes ?? []).map((n) => {
          const counts = new Map<string, { n: number; type: string }>();
          for (const i of n.members) {
            const t = runOf(i);
            if (!t) continue;
            const c = counts.get(t.state.name);
            if (c) c.n++;
            else counts.set(t.state.name, { n: 1, type: t.state.type });
          }
          const sorted = [...counts.entries()].sort((a, b) => b[1].n - a[1].n);
          return [n.id, { main: sorted[0]?.[0] ?? "Pending", type: sorted[0]?.[1].type ?? "PENDING", counts: sorted }];
        }),
      ),
    [layout, runOf],
  );

  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [layout === null]);
  const [view, setView] = useState<View | null>(null);
  // A new layout, or a new width while fitting: fit again.
  useEffect(() => {
    if (layout && width > 0 && (!view || view.fit)) setView(fitView(layout, width));
  }, [layout, width]);
  const drag = useRef<{ x: number; y: number; vx: number; vy: number; moved: boolean } | null>(null);
  const dragged = useRef(false);
  // Ctrl/⌘ + wheel zooms: a native listener, because React's wheel listeners are passive and
  // could not keep the browser from zooming the whole page.
  const svg = useRef<SVGSVGElement>(null);
  const onZoomWheel = useRef<(e: globalThis.WheelEvent) => void>(() => undefined);
  useEffect(() => {
    const el = svg.current;
    if (!el) return;
    const listener = (e: globalThis.WheelEvent) => onZoomWheel.current(e);
    el.addEventListener("wheel", listener, { passive: false });
    return () => el.removeEventListener("wheel", listener);
  }, [layout === null]);

  if (error) return <p className="error">The graph could not be laid out: {error}</p>;
  if (!layout) return <p className="muted">Laying out the graph…</p>;
  const v = view ?? { scale: 1, x: 0, y: 0, fit: true };
  const height = Math.max(120, Math.min(MAX_HEIGHT, layout.height * v.scale));
  const zoomAt = (factor: number, cx = width / 2, cy = height / 2) =>
    setView((old) => {
      const o = old ?? v;
      const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, o.scale * factor));
      // Keep the point under (cx, cy) where it is.
      return { scale, x: cx - ((cx - o.x) / o.scale) * scale, y: cy - ((cy - o.y) / o.scale) * scale, fit: false };
    });
  onZoomWheel.current = (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // a plain wheel scrolls the page
    e.preventDefault();
    const rect = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - rect.left, e.clientY - rect.top);
  };
  const onPointerDown = (e: PointerEvent<SVGSVGElement>) => {
    if (e.button !== 0) return;
    drag.current = { x: e.clientX, y: e.clientY, vx: v.x, vy: v.y, moved: false };
    dragged.current = false;
  };
  const onPointerMove = (e: PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    if (!d.moved) e.currentTarget.setPointerCapture(e.pointerId);
    d.moved = true;
    dragged.current = true;
    setView({ ...v, x: d.vx + dx, y: d.vy + dy, fit: false });
  };
  const onPointerUp = () => {
    drag.current = null;
  };

  return (
    <>
      {layout.note && (
        <p className="muted" data-testid="graph-note">
          {layout.note}
        </p>
      )}
      <div className="graph-tools">
        <button onClick={() => zoomAt(1 / 1.25)} aria-label="zoom out" data-testid="zoom-out">
          −
        </button>
        <span className="muted" data-testid="graph-zoom">
          {Math.round(v.scale * 100)}%
        </span>
        <button onClick={() => zoomAt(1.25)} aria-label="zoom in" data-testid="zoom-in">
          +
        </button>
        <button onClick={() => setView(fitView(layout, width))} data-testid="zoom-fit" disabled={v.fit}>
          Fit
        </button>
        <button onClick={() => setView({ scale: 1, x: 0, y: 0, fit: false })} data-testid="zoom-100">
          100%
        </button>
        <span className="muted">drag to pan · Ctrl/⌘ + wheel to zoom</span>
      </div>
      <div className="graph" ref={box}>
        <svg
          ref={svg}
          width="100%"
          height={height}
          data-testid="graph"
          data-scale={v.scale.toFixed(3)}
          data-fit={v.fit}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          >
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0L10,5L0,10z" className="arrow" />
            </marker>
          </defs>
          <g transform={`translate(${v.x},${v.y}) scale(${v.scale})`} data-testid="graph-content">
            {layout.edges.map((e) => (
              <path key={`${e.from}>${e.to}`} d={edgePath(e.points)} className={`edge ${e.kind}`} markerEnd="url(#arrow)" data-edge={`${e.from}>${e.to}`} />
            ))}
            {layout.nodes.map((n) => {
              const s = summaries.get(n.id)!;
              const single = n.members.length === 1 ? runOf(n.members[0]!) : undefined;
              const flow = n.kind === "flow";
              const open = () => {
                if (dragged.current) return; // the end of a pan, not a click
                if (single) navigate(flow ? `/runs/${single.id}` : `/task-runs/${single.id}`);
                else if (!flow) onGroup(n.taskName);
                else document.querySelector("[data-testid=subflows]")?.scrollIntoView({ block: "center" });
              };
              return (
                <g
                  key={n.id}
                  transform={`translate(${n.x},${n.y})`}
                  data-node={n.label}
                  data-node-id={n.id}
                  data-kind={n.kind}
                  data-state={s.main}
                  className={`graph-node${flow ? " subflow" : ""}`}
                  role="link"
                  tabIndex={0}
                  onClick={open}
                  onKeyDown={(e) => e.key === "Enter" && open()}
                >
                  <title>
                    {single
                      ? `${single.key}: open the ${flow ? "sub-flow run" : "task run"}`
                      : flow
                        ? `${n.label}: ${n.members.length} sub-flow runs (listed above)`
                        : `${n.label}: show its ${n.members.length.toLocaleString("en")} task runs`}
                  </title>
                  <rect width={NODE_W} height={NODE_H} rx={flow ? 2 : 8} className={`node ${s.type.toLowerCase()}`} />
                  <text x={10} y={19} className="node-label">
                    {flow ? "⧉ " : ""}
                    {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
                    {n.members.length > 1 ? ` ×${n.members.length.toLocaleString("en")}` : ""}
                  </text>
                  <text x={10} y={36} className="node-sub">
                    {flow && n.members.length === 1 ? "sub-flow · " : ""}
                    {s.counts.map(([name, c]) => (n.members.length > 1 ? `${c.n.toLocaleString("en")} ${name}` : name)).join(" · ")}
                  </text>
                </g>
              );
            })}
          </g>
        </svg>
      </div>
    </>
  );
}
