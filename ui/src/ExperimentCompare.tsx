/**
 * Selected runs side by side: their parameters (a row whose values are not all the same is
 * highlighted), their metrics' latest values, and each metric's curves with one line per run.
 */
import { useEffect, useState } from "react";
import { get, useData } from "./api.ts";
import { columns, differingParams, paramText, runHref } from "./experiment-table.ts";
import { compact, MetricChart, seriesColour, type Series } from "./MetricChart.tsx";
import { Link } from "./router.ts";
import type { ExperimentRunRecord, MetricHistory } from "./types.ts";

/** Every selected run's metric history, fetched again on `reload`. */
function useHistories(runIds: readonly string[], reload: number): { histories: MetricHistory[] | null; error: string | null } {
  const [state, setState] = useState<{ histories: MetricHistory[] | null; error: string | null }>({ histories: null, error: null });
  const ids = runIds.join(",");
  useEffect(() => {
    let live = true;
    Promise.all(ids.split(",").map((id) => get<MetricHistory>(`/runs/${encodeURIComponent(id)}/metrics`))).then(
      (histories) => live && setState({ histories, error: null }),
      (e: Error) => live && setState((s) => ({ ...s, error: e.message })),
    );
    return () => {
      live = false;
    };
  }, [ids, reload]);
  return state;
}

function RunHeader({ run, index }: { run: ExperimentRunRecord; index: number }) {
  return (
    <th data-run={run.runId}>
      <i className="swatch" style={{ background: seriesColour(index) }} />
      <Link to={runHref(run)}>{run.name}</Link>
    </th>
  );
}

export function ExperimentCompare({ runIds, reload }: { runIds: string[]; reload: number }) {
  const compared = useData<{ items: ExperimentRunRecord[] }>(`/experiments/compare?runs=${runIds.map(encodeURIComponent).join(",")}`, reload);
  const { histories, error } = useHistories(runIds, reload);
  const runs = compared.data?.items ?? [];
  const params = columns(runs, "params");
  const metrics = columns(runs, "metrics");
  const differ = differingParams(runs);
  const colourOf = new Map(runIds.map((id, i) => [id, seriesColour(i)]));
  return (
    <section data-testid="experiment-compare">
      <h2>Compare {runIds.length} runs</h2>
      {(compared.error ?? error) && <p className="error">{compared.error ?? error}</p>}
      {runs.length > 0 && (
        <div className="table-scroll">
          <table className="runs" data-testid="compare-params">
            <thead>
              <tr>
                <th>Parameter</th>
                {runs.map((run) => (
                  <RunHeader key={run.runId} run={run} index={runIds.indexOf(run.runId)} />
                ))}
              </tr>
            </thead>
            <tbody>
              {params.map((p) => (
                <tr key={p} data-param={p} data-differs={differ.has(p)}>
                  <th>{p}</th>
                  {runs.map((run) => (
                    <td key={run.runId} className={differ.has(p) ? "differs" : ""}>
                      {paramText(run.params[p])}
                    </td>
                  ))}
                </tr>
              ))}
              {metrics.map((m) => (
                <tr key={`m:${m}`} data-metric={m}>
                  <th>
                    {m} <span className="muted">(latest)</span>
                  </th>
                  {runs.map((run) => (
                    <td key={run.runId} className="num">
                      {run.metrics[m] ? compact(run.metrics[m].last) : "–"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {histories && runs.length > 0 && (
        <div className="metric-charts">
          {metrics.map((m) => {
            const series: Series[] = histories.flatMap((h) => {
              const run = runs.find((r) => r.runId === h.runId);
              const points = h.metrics[m];
              return run && points ? [{ runId: h.runId, label: run.name, colour: colourOf.get(h.runId) ?? seriesColour(0), points }] : [];
            });
            return <MetricChart key={m} metric={m} series={series} />;
          })}
        </div>
      )}
    </section>
  );
}
