/**
 * The newest flow runs of one flow, deployment or worker (`filter` is the query of
 * `GET /api/flow-runs`), live: a run of the list that changes state refreshes it, as does a new
 * run, and a change of `reload` (a deployment's schedule deleted drops its future runs, and no
 * state event says so). Older pages load below ("Older runs"); `allRuns` links to the runs list
 * with the filter.
 */
import { useState } from "react";
import { get, useCoalescedReload, useData, type FlowRun } from "./api.ts";
import { duration, time } from "./format.ts";
import { useLiveEvents } from "./live.ts";
import { Link } from "./router.ts";

type Page = { items: FlowRun[]; nextCursor: string | null };

/** When a run started, or when it is to start. */
function started(run: FlowRun): string {
  if (run.startTime != null) return time(run.startTime);
  if (run.state.type === "SCHEDULED" && run.state.scheduledAt != null) return `scheduled for ${time(run.state.scheduledAt)}`;
  return "–";
}

export function RecentRuns({ filter, allRuns, empty, limit = 10, reload: outer = "" }: { filter: string; allRuns?: string; empty: string; limit?: number; reload?: string }) {
  const [reload, trigger] = useCoalescedReload(1000);
  useLiveEvents(null, (event) => {
    if (event.kind === "state" && event.taskRunId === null) trigger();
  });
  const { data, error } = useData<Page>(`/flow-runs?${filter}&limit=${limit}`, `${reload}:${outer}`);
  const [older, setOlder] = useState<{ items: FlowRun[]; nextCursor: string | null } | null>(null);
  const [olderError, setOlderError] = useState<string | null>(null);
  const shown = [...(data?.items ?? []), ...(older?.items.filter((o) => !data?.items.some((d) => d.id === o.id)) ?? [])];
  const cursor = older ? older.nextCursor : (data?.nextCursor ?? null);
  const loadOlder = async () => {
    try {
      const page = await get<Page>(`/flow-runs?${filter}&limit=${limit}&cursor=${encodeURIComponent(cursor!)}`);
      setOlder({ items: [...(older?.items ?? []), ...page.items], nextCursor: page.nextCursor });
      setOlderError(null);
    } catch (e) {
      setOlderError((e as Error).message);
    }
  };
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">Loading…</p>;
  if (shown.length === 0) return <p className="muted" data-testid="runs-empty">{empty}</p>;
  return (
    <>
      <table className="runs" data-testid="recent-runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Flow</th>
            <th>State</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((run) => (
            <tr key={run.id} data-run={run.id}>
              <td>
                <Link to={`/runs/${run.id}`}>{run.name}</Link>
              </td>
              <td>{run.flowName}</td>
              <td>
                <span className={`state ${run.state.type.toLowerCase()}`}>{run.state.name}</span>
              </td>
              <td>{started(run)}</td>
              <td>{run.startTime == null ? "–" : duration(run.startTime, run.endTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        {cursor && (
          <button onClick={() => void loadOlder()} data-testid="older-runs">
            Older runs
          </button>
        )}
        {allRuns && <Link to={allRuns}>All runs in the runs list →</Link>}
        {olderError && <span className="error">{olderError}</span>}
      </div>
    </>
  );
}
