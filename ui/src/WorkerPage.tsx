/**
 * A worker's page: its status and heartbeats as the server sees them (last seen, interval, when
 * it counts as offline), its pool, the runs it claimed (live) and the events about it (a worker
 * that stopped heartbeating, with the runs that crashed with it). Refreshed every few seconds:
 * heartbeats go straight to the database, no event announces them.
 */
import { useData } from "./api.ts";
import { EventList } from "./EventList.tsx";
import { useEventFeed } from "./event-feed.ts";
import { duration, time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import { RecentRuns } from "./RecentRuns.tsx";
import { Link } from "./router.ts";
import type { WorkerDetail } from "./types.ts";

/** Beats missed before a worker counts as offline (and its runs as crashed): the server's rule. */
const MISSED_BEATS = 3;

function WorkerEvents({ id }: { id: string }) {
  const feed = useEventFeed(`involves=${encodeURIComponent(id)}`, 20);
  return (
    <div data-testid="worker-events">
      {feed.error && <p className="error">{feed.error}</p>}
      <EventList events={feed.events} empty="No events about this worker: it has never been found dead." />
      {feed.older && (
        <button className="more" onClick={feed.loadOlder}>
          Older events
        </button>
      )}
    </div>
  );
}

export function WorkerPage({ id }: { id: string }) {
  const reload = useResourceReload(["workers", "work-pools"], 5000);
  const { data: w, error } = useData<WorkerDetail>(`/workers/${encodeURIComponent(id)}`, reload);
  if (error) return <p className="error">{error}</p>;
  if (!w) return <p>Loading…</p>;
  const online = w.status === "online";
  return (
    <section>
      <div className="toolbar">
        <h1>
          <Link to="/work-pools">Work pools</Link> / {w.poolName} / {w.name}
        </h1>
        <span className={`state ${online ? "completed" : "crashed"}`} data-testid="worker-status">
          {online ? "Online" : "Offline"}
        </span>
      </div>
      <dl className="facts card" data-testid="worker-facts">
        <dt>Last heartbeat</dt>
        <dd data-testid="worker-last-seen">
          {time(w.heartbeatAt)} <span className="muted">({duration(0, w.ageMs)} ago, by the server's clock)</span>
        </dd>
        <dt>Heartbeats</dt>
        <dd>
          every {duration(0, w.intervalMs)}
          {w.heartbeatMs === null && <span className="muted"> (the default: the worker did not say)</span>}; offline, with its runs crashed, after {MISSED_BEATS} missed ({duration(0, MISSED_BEATS * w.intervalMs)}
          {online ? `, at ${time(w.heartbeatAt + MISSED_BEATS * w.intervalMs)} unless it beats again` : ""})
        </dd>
        <dt>Work pool</dt>
        <dd>
          <Link to="/work-pools">{w.poolName}</Link>
        </dd>
        <dt>Run limit</dt>
        <dd>{w.runLimit ?? "none"}</dd>
        <dt>Registered</dt>
        <dd>{time(w.createdAt)}</dd>
        <dt>Id</dt>
        <dd>
          <code>{w.id}</code>
        </dd>
      </dl>
      <h2>Runs it claimed</h2>
      <RecentRuns filter={`worker=${encodeURIComponent(w.id)}`} empty="None yet: it has claimed no run." />
      <h2>Events</h2>
      <WorkerEvents id={w.id} />
    </section>
  );
}
