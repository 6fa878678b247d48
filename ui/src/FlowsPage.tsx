/**
 * Flows: every flow with its runs and success rate over a window, its newest run and its
 * deployments, computed by the server (GET /api/stats/flows); refreshed when a flow run changes
 * state. A flow's name opens its page.
 */
import { useCoalescedReload, useData } from "./api.ts";
import { time } from "./format.ts";
import { useLiveEvents, useResourceReload } from "./live.ts";
import { Link, navigate } from "./router.ts";
import type { FlowSummaryList } from "./types.ts";

export const FLOW_WINDOWS = [
  ["24", "24 hours"],
  ["168", "7 days"],
  ["720", "30 days"],
] as const;

export const percent = (rate: number | null) => (rate === null ? "–" : `${Math.round(rate * 100)}%`);

export function FlowsPage({ url }: { url: URL }) {
  const hours = url.searchParams.get("hours") ?? "168";
  const [runReload, trigger] = useCoalescedReload(1000);
  useLiveEvents(null, (event) => {
    if (event.kind === "state" && event.taskRunId === null) trigger();
  });
  const deploymentReload = useResourceReload(["deployments"]);
  const { data, error } = useData<FlowSummaryList>(`/stats/flows?hours=${hours}`, `${runReload}:${deploymentReload}`);
  const label = FLOW_WINDOWS.find(([h]) => h === hours)?.[1] ?? `${hours} hours`;
  return (
    <section>
      <div className="toolbar">
        <h1>Flows</h1>
        <select value={hours} onChange={(e) => navigate(`/flows${e.target.value === "168" ? "" : `?hours=${e.target.value}`}`)} aria-label="window">
          {FLOW_WINDOWS.map(([h, text]) => (
            <option key={h} value={h}>
              last {text}
            </option>
          ))}
        </select>
      </div>
      {error && <p className="error">{error}</p>}
      {data && data.items.length === 0 && (
        <div className="empty" data-testid="flows-empty">
          <p>No flows yet.</p>
          <p>
            A flow appears here once it has run: <code>npx baton run examples/train.ts</code>, or deploy one with <code>flow.serve()</code> or <code>baton deploy</code>.
          </p>
        </div>
      )}
      {data && data.items.length > 0 && (
        <table className="runs" data-testid="flow-list">
          <thead>
            <tr>
              <th>Flow</th>
              <th>Runs ({label})</th>
              <th>Success rate</th>
              <th>Last run</th>
              <th>Deployments</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((f) => (
              <tr key={f.flow.id} data-flow={f.flow.name} onClick={() => navigate(`/flows/${encodeURIComponent(f.flow.name)}`)}>
                <td>
                  <Link to={`/flows/${encodeURIComponent(f.flow.name)}`}>{f.flow.name}</Link>
                  {f.flow.description && <div className="muted">{f.flow.description}</div>}
                </td>
                <td data-testid="flow-runs">{f.runs.toLocaleString("en")}</td>
                <td data-testid="flow-success" title={`${f.completed} of ${f.finished} finished runs completed`}>
                  {percent(f.successRate)}
                </td>
                <td onClick={(e) => e.stopPropagation()} data-testid="flow-last-run">
                  {f.lastRun ? (
                    <>
                      <span className={`state ${f.lastRun.stateType.toLowerCase()}`}>{f.lastRun.stateName}</span> <Link to={`/runs/${f.lastRun.id}`}>{f.lastRun.name}</Link>{" "}
                      <span className="muted">{time(f.lastRun.startTime ?? f.lastRun.createdAt)}</span>
                    </>
                  ) : (
                    <span className="muted">never run</span>
                  )}
                </td>
                <td onClick={(e) => e.stopPropagation()} data-testid="flow-deployments">
                  {f.deployments.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    f.deployments.map((d, i) => (
                      <span key={d}>
                        {i > 0 && ", "}
                        <Link to={`/deployments/${encodeURIComponent(d)}`}>{d}</Link>
                      </span>
                    ))
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
