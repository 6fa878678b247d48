/**
 * Dashboard: runs per hour by state, success rate and duration percentiles per flow, late and
 * crashed runs, workers and recent failures — all computed by the server over the whole window
 * (GET /api/stats), refreshed when flow runs change state or workers change.
 */
import { useCoalescedReload, useData } from "./api.ts";
import { RunsChart } from "./Chart.tsx";
import { duration, time } from "./format.ts";
import { useLiveEvents, useResourceReload } from "./live.ts";
import { Link, navigate } from "./router.ts";
import type { RunRef, Stats } from "./types.ts";

const WINDOWS = [
  ["24", "24 hours"],
  ["72", "3 days"],
  ["168", "7 days"],
] as const;

function RunList({ runs, testId, empty, when }: { runs: RunRef[]; testId: string; empty: string; when: (r: RunRef) => string }) {
  if (runs.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="history" data-testid={testId}>
      {runs.map((r) => (
        <li key={r.id}>
          <Link to={`/runs/${r.id}`}>{r.name}</Link>{" "}
          <span className="muted">
            {r.flowName} · {when(r)}
            {r.message ? ` — ${r.message}` : ""}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function DashboardPage({ url }: { url: URL }) {
  const hours = url.searchParams.get("hours") ?? "24";
  const [runReload, trigger] = useCoalescedReload(1000);
  useLiveEvents(null, (event) => {
    if (event.kind === "state" && event.taskRunId === null) trigger();
  });
  const workerReload = useResourceReload(["workers", "work-pools"]);
  const { data, error } = useData<Stats>(`/stats?hours=${hours}`, `${runReload}:${workerReload}`);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p>Loading…</p>;
  const label = WINDOWS.find(([h]) => h === hours)?.[1] ?? `${hours} hours`;
  const online = data.workers.filter((w) => w.status === "online");
  const count = Math.round((data.now - data.since) / data.bucketMs) + 1;
  const empty = data.totals.runs === 0 && data.late.length === 0;
  return (
    <section>
      <div className="toolbar">
        <h1>Dashboard</h1>
        <select value={hours} onChange={(e) => navigate(`/dashboard${e.target.value === "24" ? "" : `?hours=${e.target.value}`}`)} aria-label="window">
          {WINDOWS.map(([h, text]) => (
            <option key={h} value={h}>
              last {text}
            </option>
          ))}
        </select>
        <span className="muted">{data.totals.runs.toLocaleString("en")} runs</span>
      </div>
      {empty && (
        <div className="empty" data-testid="dashboard-empty">
          <p>No flow runs in the last {label}.</p>
          <p>
            Run a flow with <code>npx baton run examples/train.ts</code> (set <code>BATON_API_URL</code> to this server's <code>/api</code>, or use the same database), or create a deployment with a
            schedule and start a worker: its runs appear here as they happen.
          </p>
        </div>
      )}
      <div className="tiles">
        <Link className="tile" to="/?state=Late" data-testid="tile-late">
          <b>{data.totals.late}</b> late
        </Link>
        <Link className="tile" to={`/?stateType=CRASHED&since=${data.since}`} data-testid="tile-crashed">
          <b>{data.totals.crashed}</b> crashed
        </Link>
        <Link className="tile" to={`/?stateType=FAILED&since=${data.since}`} data-testid="tile-failed">
          <b>{data.totals.failed}</b> failed
        </Link>
        <Link className="tile" to="/work-pools" data-testid="tile-workers">
          <b>{online.length}</b> active workers{data.workers.length > online.length ? ` (${data.workers.length - online.length} offline)` : ""}
        </Link>
      </div>
      {!empty && (
        <>
          <h2>Runs by state, per hour</h2>
          <RunsChart buckets={data.runsByBucket} since={data.since} bucketMs={data.bucketMs} count={count} />
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
              {data.flows.map((f) => (
                <tr key={f.flowName} onClick={() => navigate(`/?flow=${encodeURIComponent(f.flowName)}`)} data-flow={f.flowName}>
                  <td onClick={(e) => e.stopPropagation()}>
                    <Link to={`/flows/${encodeURIComponent(f.flowName)}`}>{f.flowName}</Link>
                  </td>
                  <td>{f.runs.toLocaleString("en")}</td>
                  <td title={`${f.completed} of ${f.finished} finished runs completed`}>{f.successRate === null ? "–" : `${Math.round(f.successRate * 100)}%`}</td>
                  <td>{f.p50Ms === null ? "–" : duration(0, f.p50Ms)}</td>
                  <td>{f.p95Ms === null ? "–" : duration(0, f.p95Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <div className="columns">
        <div>
          <h2>Late runs ({data.totals.late})</h2>
          <RunList runs={data.late} testId="late" empty="None: every scheduled run started on time." when={(r) => `due ${time(r.at)}`} />
        </div>
        <div>
          <h2>Crashed runs ({data.totals.crashed})</h2>
          <RunList runs={data.crashed} testId="crashed" empty={`None in the last ${label}.`} when={(r) => time(r.at)} />
        </div>
      </div>
      <h2>Recent failures</h2>
      <RunList runs={data.failures} testId="failures" empty={`None in the last ${label}.`} when={(r) => time(r.at)} />
      <h2>Workers</h2>
      {data.workers.length === 0 ? (
        <p className="muted">
          No workers. Start one with <code>baton worker start --pool NAME</code> to run deployments.
        </p>
      ) : (
        <ul className="history" data-testid="workers">
          {data.workers.map((w) => (
            <li key={w.id}>
              <span className={`state ${w.status === "online" ? "completed" : "crashed"}`}>{w.status === "online" ? "Online" : "Offline"}</span> {w.name}{" "}
              <span className="muted">
                {w.poolName} · last heartbeat {time(w.heartbeatAt)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
