/** An asset version's lineage as a layered SVG: versions (rounded, accent) and runs (plain), edges in the direction data flows. */
import { layoutLineage, NODE_H, NODE_W, type PlacedNode } from "./lineage-layout.ts";
import { navigate } from "./router.ts";
import type { LineageGraph as Graph } from "./types.ts";

const short = (text: string) => (text.startsWith("sha256:") && text.length > 19 ? `${text.slice(0, 19)}…` : text);
const clip = (text: string, n = 30) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function lines(p: PlacedNode): [string, string] {
  const { node } = p;
  if (node.version) return [clip(node.version.key), `@ ${short(node.version.version)}${node.version.rows === null ? "" : ` · ${node.version.rows} rows`}`];
  const run = node.run!;
  if (run.deleted) return ["run deleted", ""];
  return [clip(run.name ?? (run.taskRunId ?? run.flowRunId ?? "").slice(0, 8)), `${run.taskRunId ? "task run" : "flow run"}${run.stateName ? ` · ${run.stateName}` : ""}`];
}

/** Where a click on a node goes: a version to its asset, a run to its page. */
function target(p: PlacedNode): string | null {
  const { node } = p;
  if (node.version) return `/assets?key=${encodeURIComponent(node.version.key)}&version=${encodeURIComponent(node.version.version)}`;
  if (node.run && !node.run.deleted) return node.run.taskRunId ? `/task-runs/${encodeURIComponent(node.run.taskRunId)}` : `/runs/${encodeURIComponent(node.run.flowRunId!)}`;
  return null;
}

export function LineageGraph({ graph }: { graph: Graph }) {
  const layout = layoutLineage(graph);
  const pad = 8;
  return (
    <div className="lineage" data-testid="lineage-graph">
      <svg width={layout.width + 2 * pad} height={layout.height + 2 * pad} role="img" aria-label={`${graph.direction} lineage`}>
        <defs>
          <marker id="lineage-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
          </marker>
        </defs>
        <g transform={`translate(${pad},${pad})`}>
          {layout.edges.map((e, i) => {
            // Data flows left to right: an edge leaves its source's right side for its target's left side.
            const [a, b] = e.from.x <= e.to.x ? [e.from, e.to] : [e.to, e.from];
            const x1 = a.x + NODE_W;
            const y1 = a.y + NODE_H / 2;
            const x2 = b.x;
            const y2 = b.y + NODE_H / 2;
            const mid = (x1 + x2) / 2;
            return (
              <path
                key={i}
                d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`}
                className={`lineage-edge ${e.kind}`}
                markerEnd="url(#lineage-arrow)"
                data-testid="lineage-edge"
                data-from={e.from.node.id}
                data-to={e.to.node.id}
              />
            );
          })}
          {layout.nodes.map((p) => {
            const [first, second] = lines(p);
            const to = target(p);
            return (
              <g
                key={p.node.id}
                transform={`translate(${p.x},${p.y})`}
                className={`lineage-node ${p.node.kind}${p.node.id === graph.root ? " root" : ""}${p.node.run?.deleted ? " deleted" : ""}`}
                data-testid="lineage-node"
                data-id={p.node.id}
                data-kind={p.node.kind}
                data-key={p.node.version?.key}
                onClick={to ? () => navigate(to) : undefined}
                style={to ? { cursor: "pointer" } : undefined}
              >
                <title>{p.node.version ? `${p.node.version.key} @ ${p.node.version.version}\n${p.node.version.hash}` : first}</title>
                <rect width={NODE_W} height={NODE_H} rx={p.node.kind === "version" ? 10 : 3} />
                <text x={10} y={18}>
                  {first}
                </text>
                <text x={10} y={34} className="sub">
                  {second}
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      {graph.truncated && <p className="muted">The graph stopped at its size limit: ask for fewer levels.</p>}
    </div>
  );
}
