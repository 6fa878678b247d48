/**
 * The task graph: nodes coloured by state (a group shows how many of its runs are in each),
 * edges as dagre routes them. The layout is computed in a Web Worker and only when the graph's
 * structure changes (a full reload); live state changes only recount the nodes' states.
 * Clicking a node opens its task run, or for a group filters the task table to its task.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { edgePath, NODE_H, NODE_W, type GraphLayout } from "./graph.ts";
import type { Dependency, TaskRun } from "./types.ts";
import { navigate } from "./router.ts";

type Structure = { items: TaskRun[]; dependencies: Dependency[] };

function useLayout(structure: Structure): { laidOut: Structure | null; layout: GraphLayout | null; error: string | null } {
  const [result, setResult] = useState<{ laidOut: Structure | null; layout: GraphLayout | null; error: string | null }>({ laidOut: null, layout: null, error: null });
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
      setResult({ laidOut: structure, layout: e.data.layout ?? null, error: e.data.error ?? null });
    };
    w.addEventListener("message", onMessage);
    w.postMessage({ seq: mine, tasks: structure.items.map((t) => ({ id: t.id, taskName: t.taskName })), deps: structure.dependencies });
    return () => w.removeEventListener("message", onMessage);
  }, [structure]);
  // Until the new structure is laid out, the previous layout stays on screen.
  return result;
}

export function TaskGraph({ structure, tasks, onGroup }: { structure: Structure; tasks: TaskRun[]; onGroup: (taskName: string) => void }) {
  const { laidOut, layout, error } = useLayout(structure);
  // Node members index the task list the layout was computed from; the current list (live
  // states) may be a newer one, so runs are looked up by id.
  const current = useMemo(() => new Map(tasks.map((t) => [t.id, t])), [tasks]);
  const runOf = (i: number) => current.get(laidOut?.items[i]?.id ?? "");
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
    [layout, current],
  );
  if (error) return <p className="error">The graph could not be laid out: {error}</p>;
  if (!layout) return <p className="muted">Laying out the graph…</p>;
  return (
    <>
      {layout.note && (
        <p className="muted" data-testid="graph-note">
          {layout.note}
        </p>
      )}
      <div className="graph">
        <svg width={layout.width} height={layout.height} data-testid="graph">
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0L10,5L0,10z" className="arrow" />
            </marker>
          </defs>
          {layout.edges.map((e) => (
            <path key={`${e.from}>${e.to}`} d={edgePath(e.points)} className={`edge ${e.kind}`} markerEnd="url(#arrow)" data-edge={`${e.from}>${e.to}`} />
          ))}
          {layout.nodes.map((n) => {
            const s = summaries.get(n.id)!;
            const single = n.members.length === 1 ? runOf(n.members[0]!) : undefined;
            const open = () => (single ? navigate(`/task-runs/${single.id}`) : onGroup(n.taskName));
            return (
              <g
                key={n.id}
                transform={`translate(${n.x},${n.y})`}
                data-node={n.label}
                data-node-id={n.id}
                data-state={s.main}
                className="graph-node"
                role="link"
                tabIndex={0}
                onClick={open}
                onKeyDown={(e) => e.key === "Enter" && open()}
              >
                <title>{single ? `${single.taskKey}: open the task run` : `${n.label}: show its ${n.members.length.toLocaleString("en")} task runs`}</title>
                <rect width={NODE_W} height={NODE_H} rx={8} className={`node ${s.type.toLowerCase()}`} />
                <text x={10} y={19} className="node-label">
                  {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
                  {n.members.length > 1 ? ` ×${n.members.length.toLocaleString("en")}` : ""}
                </text>
                <text x={10} y={36} className="node-sub">
                  {s.counts.map(([name, c]) => (n.members.length > 1 ? `${c.n.toLocaleString("en")} ${name}` : name)).join(" · ")}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
    </>
  );
}
