/**
 * A flow's page: its figures over a window (runs, success rate, duration p50/p95), the
 * durations of its newest runs over time, its deployments, its parameters' JSON Schema as a
 * table (from its most recently updated deployment) and its runs, live.
 */
import { useCoalescedReload, useData } from "./api.ts";
import { DurationChart } from "./DurationChart.tsx";
import { FLOW_WINDOWS, percent } from "./FlowsPage.tsx";
import { duration } from "./format.ts";
import { useLiveEvents, useResourceReload } from "./live.ts";
import { ParameterSchemaTable } from "./ParameterSchemaTable.tsx";
import { RecentRuns } from "./RecentRuns.tsx";
import { Link, navigate } from "./router.ts";
import type { JsonSchema } from "./schema-form.ts";
import type { FlowDetail } from "./types.ts";

export function FlowPage({ name, url }: { name: string; url: URL }) {
  const hours = url.searchParams.get("hours") ?? "168";
  const [runReload, trigger] = useCoalescedReload(2000);
  useLiveEvents(null, (event) => {
    if (event.kind === "state" && event.taskRunId === null) trigger();
  });
  const deploymentReload = useResourceReload(["deployments"]);
  const path = `/flows/${encodeURIComponent(name)}`;
  const { data, error } = useData<FlowDetail>(`/stats${path}?hours=${hours}`, `${runReload}:${deploymentReload}`);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p>Loading…</p>;
  const label = FLOW_WINDOWS.find(([h]) => h === hours)?.[1] ?? `${hours} hours`;
  return (
    <section>
      <div className="toolbar">
        <h1>
          <Link to="/flows">Flows</Link> / {data.flow.name}
        </h1>
        {data.flow.tags.map((t) => (
          <span key={t} className="chip">
            {t}&nbsp;
          </span>
        ))}
        <select value={hours} onChange={(e) => navigate(`${path}${e.target.value === "168" ? "" : `?hours=${e.target.value}`}`)} aria-label="window">
          {FLOW_WINDOWS.map(([h, text]) => (
            <option key={h} value={h}>
              last {text}
            </option>
          ))}
        </select>
      </div>
      {data.flow.description && <p>{data.flow.description}</p>}
      <div className="tiles" data-testid="flow-tiles">
        <div className="tile" data-testid="tile-runs">
          <b>{data.runs.toLocaleString("en")}</b> runs in the last {label}
        </div>
        <div className="tile" data-testid="tile-success" title={`${data.completed} of ${data.finished} finished runs completed`}>
          <b>{percent(data.successRate)}</b> success rate
        </div>
        <div className="tile" data-testid="tile-p50">
          <b>{data.p50Ms === null ? "–" : duration(0, data.p50Ms)}</b> median duration
        </div>
        <div className="tile" data-testid="tile-p95">
          <b>{data.p95Ms === null ? "–" : duration(0, data.p95Ms)}</b> p95 duration
        </div>
      </div>
      <h2>Durations over time</h2>
      <DurationChart points={data.durations} />
      <h2>Deployments</h2>
      {data.deployments.length === 0 ? (
        <p className="muted" data-testid="flow-no-deployments">
          None. Deploy this flow with <code>flow.serve()</code> or <code>baton deploy</code> to run it on a schedule or from this dashboard.
        </p>
      ) : (
        <table className="runs" data-testid="flow-deployment-list">
          <thead>
            <tr>
              <th>Deployment</th>
              <th>Status</th>
              <th>Pool / queue</th>
              <th>Schedules</th>
            </tr>
          </thead>
          <tbody>
            {data.deployments.map((d) => (
              <tr key={d.id} data-deployment={d.name} onClick={() => navigate(`/deployments/${encodeURIComponent(d.name)}`)}>
                <td>
                  <Link to={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                </td>
                <td>
                  <span className={`state ${d.paused ? "paused" : "completed"}`}>{d.paused ? "Paused" : "Active"}</span>
                </td>
                <td>
                  {d.workPool ?? "no pool"}/{d.workQueue}
                </td>
                <td className="muted">{d.scheduleText.join("; ") || "no schedule"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Parameters</h2>
      {data.parameterSchema ? (
        <>
          <p className="muted">
            As declared by deployment <Link to={`/deployments/${encodeURIComponent(data.parameterSchemaFrom!)}`}>{data.parameterSchemaFrom}</Link>.
          </p>
          <ParameterSchemaTable schema={data.parameterSchema as JsonSchema} />
        </>
      ) : (
        <p className="muted" data-testid="no-parameter-schema">
          No deployment of this flow declares its parameters (a flow with a zod <code>parameters</code> schema does, once deployed).
        </p>
      )}
      <h2>Runs</h2>
      <RecentRuns filter={`flow=${encodeURIComponent(data.flow.name)}`} allRuns={`/?flow=${encodeURIComponent(data.flow.name)}`} empty="This flow has no runs." />
    </section>
  );
}
