/**
 * One experiment's runs: every flow run or task run that logged (a `map` search gives one row per
 * configuration), a column per parameter and the latest value of each metric. A metric's header
 * sorts by it (`?sort=metric:asc|desc`); rows chosen with their boxes (`?runs=id,id`) are compared
 * below. Both live in the URL, so a comparison is a link.
 */
import { useCoalescedReload, useData, useInterval } from "./api.ts";
import { ExperimentCompare } from "./ExperimentCompare.tsx";
import { columns, formatSort, paramText, parseSort, runHref, sortRuns } from "./experiment-table.ts";
import { compact } from "./MetricChart.tsx";
import { time } from "./format.ts";
import { Link, replaceQuery } from "./router.ts";
import type { ExperimentRunRecord } from "./types.ts";

const MAX_SELECTED = 50;

export function ExperimentPage({ name, url }: { name: string; url: URL }) {
  const [reload, trigger] = useCoalescedReload(1000);
  useInterval(trigger, 10_000);
  const runs = useData<{ items: ExperimentRunRecord[] }>(`/experiments/${encodeURIComponent(name)}/runs?limit=1000`, reload);
  const sort = parseSort(url.searchParams.get("sort"));
  const selected = (url.searchParams.get("runs") ?? "").split(",").filter(Boolean);
  const items = runs.data?.items ?? [];
  const params = columns(items, "params");
  const metrics = columns(items, "metrics");
  const rows = sortRuns(items, sort);

  const sortBy = (metric: string) =>
    replaceQuery({ sort: formatSort({ metric, descending: sort?.metric === metric ? !sort.descending : false }) });
  const toggle = (runId: string) => {
    const next = selected.includes(runId) ? selected.filter((id) => id !== runId) : [...selected, runId].slice(-MAX_SELECTED);
    replaceQuery({ runs: next.join(",") });
  };

  return (
    <div>
      <p>
        <Link to="/experiments">Experiments</Link> /
      </p>
      <h1>{name}</h1>
      {runs.error && <p className="error">{runs.error}</p>}
      {runs.data && items.length === 0 && <p className="muted">No run of this experiment has logged parameters or metrics.</p>}
      {items.length > 0 && (
        <>
          <p className="muted">
            {items.length} runs. Click a metric to sort by its latest value; tick runs to compare them.
            {selected.length > 0 && (
              <>
                {" "}
                <button onClick={() => replaceQuery({ runs: null })} data-testid="clear-selection">
                  Clear selection ({selected.length})
                </button>
              </>
            )}
          </p>
          <div className="table-scroll">
            <table className="runs" data-testid="experiment-runs">
              <thead>
                <tr>
                  <th />
                  <th>Run</th>
                  <th>State</th>
                  {params.map((p) => (
                    <th key={`p:${p}`} data-param={p}>
                      {p}
                    </th>
                  ))}
                  {metrics.map((m) => (
                    <th
                      key={`m:${m}`}
                      className="sortable"
                      onClick={() => sortBy(m)}
                      aria-sort={sort?.metric === m ? (sort.descending ? "descending" : "ascending") : "none"}
                      data-sort-metric={m}
                      title={`sort by the latest ${m}`}
                    >
                      {m} {sort?.metric === m ? (sort.descending ? "▼" : "▲") : ""}
                    </th>
                  ))}
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((run) => {
                  const isSelected = selected.includes(run.runId);
                  return (
                    <tr key={run.runId} className={isSelected ? "selected" : ""} data-testid="experiment-run" data-run={run.runId}>
                      <td>
                        <input type="checkbox" checked={isSelected} onChange={() => toggle(run.runId)} aria-label={`compare ${run.name}`} data-testid="select-run" />
                      </td>
                      <td>
                        <Link to={runHref(run)}>{run.name}</Link>
                        {run.taskRunId && <span className="muted"> in {run.flowName}</span>}
                      </td>
                      <td>
                        <span className={`state ${run.stateType.toLowerCase()}`}>{run.stateName}</span>
                      </td>
                      {params.map((p) => (
                        <td key={`p:${p}`} data-param={p}>
                          {paramText(run.params[p])}
                        </td>
                      ))}
                      {metrics.map((m) => {
                        const summary = run.metrics[m];
                        return (
                          <td key={`m:${m}`} className="num" data-metric={m} title={summary ? `step ${summary.lastStep}; min ${summary.min}, max ${summary.max} over ${summary.steps} steps` : undefined}>
                            {summary ? compact(summary.last) : "–"}
                          </td>
                        );
                      })}
                      <td>{time(run.createdAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {selected.length > 0 && <ExperimentCompare key={selected.join(",")} runIds={selected} reload={reload} />}
    </div>
  );
}
