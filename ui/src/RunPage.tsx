/** A flow run: header and actions, task graph, timeline, task runs, live logs, state history. */
import { useMemo, useRef, useState } from "react";
import { post, useData, useLiveEvents, type Dependency, type FlowRun, type LogLine, type TaskRun } from "./api.ts";
import { duration, LEVELS, time } from "./format.ts";
import { layoutGraph, NODE_H, NODE_W } from "./graph.ts";
import { navigate } from "./router.ts";
import { VirtualRows } from "./VirtualRows.tsx";

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]);

function ArtifactTable({ rows }: { rows: Record<string, unknown>[] }) {
  const columns = Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? ""));
  return (
    <table className="runs">
      <thead>
        <tr>
          {columns.map((k) => (
            <th key={k}>{k}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.slice(0, 200).map((row, i) => (
          <tr key={i}>
            {columns.map((k) => (
              <td key={k}>{cell(row[k])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A readable preview of a devalue-serialised result (its flat table of values, first 2,000 characters). */
function summarise(text: string): string {
  try {
    const table = JSON.parse(text) as unknown[];
    const resolve = (i: number, depth: number): unknown => {
      const v = table[i];
      if (depth > 6 || v === null || typeof v !== "object") return v;
      if (Array.isArray(v)) return typeof v[0] === "string" && /^[A-Z]/.test(v[0]) ? `${v[0]}(${String(v[1])})` : v.map((x) => (typeof x === "number" ? resolve(x, depth + 1) : x));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === "number" ? resolve(x, depth + 1) : x]));
    };
    const out = JSON.stringify(resolve(0, 0), null, 2);
    return out.length > 2000 ? `${out.slice(0, 2000)}…` : out;
  } catch {
    return text.slice(0, 2000);
  }
}

export function RunPage({ id }: { id: string }) {
  const [reload, setReload] = useState(0);
  const [logs, setLogs] = useState<LogLine[] | null>(null);
  const [level, setLevel] = useState(20);
  const [search, setSearch] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const run = useData<FlowRun>(`/flow-runs/${encodeURIComponent(id)}`, reload);
  const tasks = useData<{ items: TaskRun[]; dependencies: Dependency[] }>(`/flow-runs/${encodeURIComponent(id)}/task-runs`, reload);
  const history = useData<{ id: number; name: string; type: string; timestamp: number; message: string | null }[]>(`/flow-runs/${encodeURIComponent(id)}/states`, reload);
  const initialLogs = useData<{ items: LogLine[] }>(`/logs?flowRunId=${encodeURIComponent(id)}&limit=5000`);
  const children = useData<{ items: FlowRun[] }>(`/flow-runs?parent=${encodeURIComponent(id)}&limit=100`, reload);
  const artifacts = useData<{ items: { id: string; key: string | null; type: string; data: unknown; description: string | null }[] }>(`/artifacts?flowRunId=${encodeURIComponent(id)}`, reload);
  const result = useData<{ value: string | null; size: number; path: string | null }>(run.data?.resultId ? `/results/${encodeURIComponent(run.data.resultId)}` : null);
  const allLogs = logs ?? initialLogs.data?.items ?? [];
  const pending = useRef(false);
  useLiveEvents(id, (event) => {
    if (event.kind === "log") {
      setLogs((current) => [...(current ?? initialLogs.data?.items ?? []), event]);
      return;
    }
    if (pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      setReload((n) => n + 1);
    }, 200);
  });

  const graph = useMemo(() => layoutGraph(tasks.data?.items ?? [], tasks.data?.dependencies ?? []), [tasks.data]);
  const names = useMemo(() => new Map((tasks.data?.items ?? []).map((t) => [t.id, t.taskKey])), [tasks.data]);

  if (run.error) return <p className="error">{run.error}</p>;
  const r = run.data;
  if (!r) return <p>Loading…</p>;
  const act = async (action: "cancel" | "retry") => {
    try {
      await post(`/flow-runs/${encodeURIComponent(id)}/${action}`);
      setMessage(action === "cancel" ? "Cancellation requested" : "Retry scheduled: a worker will resume the run");
      setReload((n) => n + 1);
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const visibleLogs = allLogs.filter((l) => l.level >= level && (!search || l.message.toLowerCase().includes(search.toLowerCase())));
  const taskList = tasks.data?.items ?? [];
  const t0 = Math.min(...taskList.map((t) => t.startTime ?? Infinity), r.startTime ?? Infinity);
  const t1 = Math.max(...taskList.map((t) => t.endTime ?? Date.now()), r.endTime ?? Date.now());
  const span = Math.max(1, t1 - t0);

  return (
    <section className="run">
      <div className="toolbar">
        <h1>
          {r.name} <span className={`state ${r.state.type.toLowerCase()}`} data-testid="run-state">{r.state.name}</span>
        </h1>
        <span className="muted">
          {r.flowName} · {duration(r.startTime, r.endTime)} · run {r.runCount}
        </span>
        <div className="actions">
          {!TERMINAL.has(r.state.type) && <button onClick={() => void act("cancel")}>Cancel</button>}
          {["FAILED", "CRASHED", "CANCELLED"].includes(r.state.type) && <button onClick={() => void act("retry")}>Retry</button>}
          <button onClick={() => void navigator.clipboard?.writeText(r.id)} title={r.id}>
            Copy id
          </button>
        </div>
      </div>
      {message && <p className="notice">{message}</p>}
      {r.parentFlowRunId && (
        <p>
          Child of{" "}
          <a href={`/runs/${r.parentFlowRunId}`} onClick={(e) => (e.preventDefault(), navigate(`/runs/${r.parentFlowRunId}`))} data-testid="parent-link">
            its parent flow run
          </a>
        </p>
      )}
      {(children.data?.items.length ?? 0) > 0 && (
        <p data-testid="subflows">
          Sub-flow runs:{" "}
          {children.data!.items.map((c) => (
            <a key={c.id} href={`/runs/${c.id}`} onClick={(e) => (e.preventDefault(), navigate(`/runs/${c.id}`))} style={{ marginRight: 10 }}>
              {c.flowName} ({c.name}) <span className={`state ${c.state.type.toLowerCase()}`}>{c.state.name}</span>
            </a>
          ))}
        </p>
      )}
      {r.state.message && <p className={r.state.type === "COMPLETED" ? "muted" : "error"}>{r.state.message}</p>}
      <details open>
        <summary>Parameters</summary>
        <pre>{JSON.stringify(r.parameters, null, 2)}</pre>
      </details>
      {result.data && (
        <details open>
          <summary>Result ({result.data.size.toLocaleString()} bytes, devalue)</summary>
          <pre data-testid="result">{result.data.value ? summarise(result.data.value) : `stored in a file on the machine that ran it (${result.data.path})`}</pre>
        </details>
      )}

      {(artifacts.data?.items.length ?? 0) > 0 && (
        <>
          <h2>Artifacts</h2>
          {artifacts.data!.items.map((a) => (
            <div key={a.id} className="card" data-artifact={a.key ?? a.id}>
              <b>{a.key ?? a.type}</b> {a.description && <span className="muted">— {a.description}</span>}
              {a.type === "markdown" && <pre>{String(a.data)}</pre>}
              {a.type === "link" && (
                <p>
                  <a href={(a.data as { url: string }).url} target="_blank" rel="noreferrer">
                    {(a.data as { title?: string; url: string }).title ?? (a.data as { url: string }).url}
                  </a>
                </p>
              )}
              {a.type === "table" && Array.isArray(a.data) && <ArtifactTable rows={a.data as Record<string, unknown>[]} />}
            </div>
          ))}
        </>
      )}

      <h2>Task graph</h2>
      {taskList.length === 0 ? (
        <p className="muted">No task runs.</p>
      ) : (
        <div className="graph">
          <svg width={graph.width} height={graph.height} data-testid="graph">
            {graph.edges.map((e) => {
              const a = graph.nodes.find((n) => n.id === e.from)!;
              const b = graph.nodes.find((n) => n.id === e.to)!;
              return (
                <path
                  key={`${e.from}>${e.to}`}
                  d={`M${a.x + NODE_W},${a.y + NODE_H / 2} C${a.x + NODE_W + 35},${a.y + NODE_H / 2} ${b.x - 35},${b.y + NODE_H / 2} ${b.x},${b.y + NODE_H / 2}`}
                  className={`edge ${e.kind}`}
                />
              );
            })}
            {graph.nodes.map((n) => {
              const main = Object.entries(n.counts).sort((x, y) => y[1] - x[1])[0]![0];
              const type = n.runs.find((t) => t.state.name === main)!.state.type.toLowerCase();
              return (
                <g key={n.id} transform={`translate(${n.x},${n.y})`} data-node={n.label} data-state={main}>
                  <rect width={NODE_W} height={NODE_H} rx={8} className={`node ${type}`} />
                  <text x={10} y={19} className="node-label">
                    {n.label}
                    {n.runs.length > 1 ? ` ×${n.runs.length}` : ""}
                  </text>
                  <text x={10} y={36} className="node-sub">
                    {Object.entries(n.counts)
                      .map(([name, count]) => (n.runs.length > 1 ? `${count} ${name}` : name))
                      .join(" · ")}
                  </text>
                </g>
              );
            })}
          </svg>
        </div>
      )}

      {taskList.length > 0 && (
        <>
          <h2>Timeline</h2>
          <div className="timeline" data-testid="timeline">
            <VirtualRows
              items={taskList}
              rowHeight={20}
              height={280}
              render={(t) => (
                <div className="bar-row">
                  <span className="bar-label">{t.taskKey}</span>
                  <span className="bar-track">
                    {t.startTime != null && (
                      <span
                        className={`bar ${t.state.type.toLowerCase()}`}
                        style={{ left: `${((t.startTime - t0) / span) * 100}%`, width: `${Math.max(0.5, (((t.endTime ?? Date.now()) - t.startTime) / span) * 100)}%` }}
                        title={`${t.taskKey}: ${t.state.name}, ${duration(t.startTime, t.endTime)}`}
                      />
                    )}
                  </span>
                </div>
              )}
            />
          </div>
        </>
      )}

      <h2>Task runs ({taskList.length.toLocaleString()})</h2>
      <div className="task-table" data-testid="task-runs">
        <div className="task-row head">
          <span>Key</span>
          <span>State</span>
          <span>Attempts</span>
          <span>Duration</span>
          <span>Message</span>
        </div>
        <VirtualRows
          items={taskList}
          rowHeight={32}
          height={420}
          render={(t) => (
            <div className="task-row" data-task={t.taskKey} onClick={() => navigate(`/task-runs/${t.id}`)}>
              <span>{t.taskKey}</span>
              <span>
                <span className={`state ${t.state.type.toLowerCase()}`}>{t.state.name}</span>
              </span>
              <span>{t.runCount}</span>
              <span>{duration(t.startTime, t.endTime)}</span>
              <span className="muted">{t.state.message ?? ""}</span>
            </div>
          )}
        />
      </div>

      <h2>Logs</h2>
      <div className="toolbar">
        <select value={level} onChange={(e) => setLevel(Number(e.target.value))} aria-label="log level">
          {[20, 30, 40, 50].map((l) => (
            <option key={l} value={l}>
              {LEVELS[l]} and above
            </option>
          ))}
        </select>
        <input placeholder="search" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="search logs" />
      </div>
      <pre className="logs" data-testid="logs">
        {visibleLogs.map((l) => `${new Date(l.timestamp).toISOString().slice(11, 23)} ${(LEVELS[l.level] ?? l.level).toString().padEnd(8)} ${l.taskRunId ? (names.get(l.taskRunId) ?? "task") : "flow"} - ${l.message}`).join("\n") || "No logs."}
      </pre>

      <h2>State history</h2>
      <ul className="history">
        {(history.data ?? []).map((s) => (
          <li key={s.id}>
            <span className={`state ${s.type.toLowerCase()}`}>{s.name}</span> {time(s.timestamp)} {s.message && <span className="muted">— {s.message}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
