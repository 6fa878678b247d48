/** The experiments: each with how many runs logged to it and when it last ran; one opens its runs. */
import { useCoalescedReload, useData, useInterval } from "./api.ts";
import { time } from "./format.ts";
import { Link } from "./router.ts";
import type { ExperimentSummary } from "./types.ts";

export function ExperimentsPage() {
  // No live event announces logged values: the list refreshes on a timer.
  const [reload, trigger] = useCoalescedReload(1000);
  useInterval(trigger, 10_000);
  const list = useData<{ items: ExperimentSummary[] }>("/experiments", reload);
  return (
    <div>
      <h1>Experiments</h1>
      <p className="muted">Runs that logged parameters or metrics (logParams, logMetric), grouped by their flow's experiment.</p>
      {list.error && <p className="error">{list.error}</p>}
      {list.data && list.data.items.length === 0 && <p className="muted">No run has logged parameters or metrics yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="runs" data-testid="experiments">
          <thead>
            <tr>
              <th>Experiment</th>
              <th>Runs</th>
              <th>Last run</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((e) => (
              <tr key={e.name} data-testid="experiment-row">
                <td>
                  <Link to={`/experiments/${encodeURIComponent(e.name)}`}>{e.name}</Link>
                </td>
                <td>{e.runs}</td>
                <td>{time(e.lastRunAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
