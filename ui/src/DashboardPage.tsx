/**
 * Dashboard: runs by state over the last 24 hours, success rate and duration percentiles per
 * flow, late and crashed runs, active workers and recent failures — computed from the newest
 * 500 runs, refreshed by the event stream.
 */
import { useMemo, useRef, useState } from "react";
import { useData, type FlowRun } from "./api.ts";
import { useLiveEvents } from "./live.ts";
import { duration, time } from "./format.ts";
import { navigate } from "./router.ts";

const BUCKETS = 24;
const COLOURS: Record<string, string> = { COMPLETED: "var(--completed)", FAILED: "var(--failed)", CRASHED: "var(--crashed)", RUNNING: "var(--running)", CANCELLED: "var(--cancelled)" };

function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function DashboardPage() {
  const [reload, setReload] = useState(0);
  const pending = useRef(false);
  useLiveEvents(null, (event) => {
    if (event.kind !== "state" || event.taskRunId !== null || pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      setReload((n) => n + 1);
    }, 1000);
  });
  const since = useMemo(() => Date.now() - BUCKETS * 3600_000, [reload]);
  const runs = useData<{ items: FlowRun[] }>(`/flow-runs?limit=500&since=${since}`, reload);
  const pools = useData<{ items: { name: string; workers: { heartbeatAt: number }[] }[] }>("/work-pools", reload);
  const items = runs.data?.items ?? [];
  const buckets = Array.from({ length: BUCKETS }, () => new Map<string, number>());
  for (const r of items) {
    const b = Math.min(BUCKETS - 1, Math.floor((r.createdAt - since) / 3600_000));
    if (b >= 0) buckets[b]!.set(r.state.type, (buckets[b]!.get(r.state.type) ?? 0) + 1);
  }
  const peak = Math.max(1, ...buckets.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const perFlow = new Map<string, FlowRun[]>();
  for (const r of items) perFlow.set(r.flowName, [...(perFlow.get(r.flowName) ?? []), r]);
  const late = items.filter((r) => r.state.name === "Late");
  const crashed = items.filter((r) => r.state.type === "CRASHED");
  const failures = items.filter((r) => r.state.type === "FAILED").slice(0, 8);
  const workers = (pools.data?.items ?? []).flatMap((p) => p.workers).filter((w) => Date.now() - w.heartbeatAt < 60_000).length;

  return (
    <section>
      <div className="toolbar">
        <h1>Dashboard</h1>
        <span className="muted">last 24 hours · {items.length} runs</span>
      </div>
      <div className="tiles">
        <div className="tile" data-testid="tile-late">
          <b>{late.length}</b> late
        </div>
        <div className="tile" data-testid="tile-crashed">
          <b>{crashed.length}</b> crashed
        </div>
        <div className="tile" data-testid="tile-failed">
          <b>{items.filter((r) => r.state.type === "FAILED").length}</b> failed
        </div>
        <div className="tile" data-testid="tile-workers">
          <b>{workers}</b> active workers
        </div>
      </div>
      <h2>Runs by state, per hour</h2>
      <svg className="chart" viewBox={`0 0 ${BUCKETS * 20} 120`} preserveAspectRatio="none" data-testid="chart">
        {buckets.map((m, i) => {
          let y = 120;
          return [...m.entries()].map(([type, n]) => {
            const h = (n / peak) * 110;
            y -= h;
            return <rect key={`${i}-${type}`} x={i * 20 + 2} y={y} width={16} height={h} fill={COLOURS[type] ?? "var(--pending)"}><title>{`${n} ${type.toLowerCase()}`}</title></rect>;
          });
        })}
      </svg>
      <h2>Flows</h2>
      <table className="runs" data-testid="flows">
        <thead>
          <tr>
            <th>Flow</th>
            <th>Runs</th>
            <th>Success rate</th>
            <th>Duration p50</th>
            <th>p95</th>
          </tr>
        </thead>
        <tbody>
          {[...perFlow.entries()].map(([flow, list]) => {
            const finished = list.filter((r) => ["COMPLETED", "FAILED", "CRASHED"].includes(r.state.type));
            const ok = finished.filter((r) => r.state.type === "COMPLETED").length;
            const durations = list.filter((r) => r.startTime && r.endTime).map((r) => r.endTime! - r.startTime!);
            const p50 = percentile(durations, 50);
            const p95 = percentile(durations, 95);
            return (
              <tr key={flow} onClick={() => navigate(`/?flow=${encodeURIComponent(flow)}`)} data-flow={flow}>
                <td>{flow}</td>
                <td>{list.length}</td>
                <td>{finished.length ? `${Math.round((ok / finished.length) * 100)}%` : "–"}</td>
                <td>{p50 === null ? "–" : duration(0, p50)}</td>
                <td>{p95 === null ? "–" : duration(0, p95)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Recent failures</h2>
      {failures.length === 0 ? (
        <p className="muted">None in the last 24 hours.</p>
      ) : (
        <ul className="history" data-testid="failures">
          {failures.map((r) => (
            <li key={r.id}>
              <a href={`/runs/${r.id}`} onClick={(e) => (e.preventDefault(), navigate(`/runs/${r.id}`))}>
                {r.name}
              </a>{" "}
              <span className="muted">
                {r.flowName} · {time(r.endTime)} — {r.state.message ?? r.error?.message ?? ""}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
