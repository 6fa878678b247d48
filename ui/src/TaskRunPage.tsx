/** A task run: its upstream inputs, every attempt with its error, the cache key and hit or miss, its logs; live. */
import { useEffect, useMemo, useState } from "react";
import { useCoalescedReload, useData } from "./api.ts";
import { duration, time } from "./format.ts";
import { useLiveEvents } from "./live.ts";
import { LogPanel } from "./LogPanel.tsx";
import { Link } from "./router.ts";
import { fetchTaskList, type TaskList } from "./run-data.ts";
import type { StateRecord, TaskRunRecord as FullTaskRun } from "./types.ts";

export function TaskRunPage({ id, url }: { id: string; url: URL }) {
  const [reload, trigger] = useCoalescedReload(500);
  const task = useData<FullTaskRun>(`/task-runs/${encodeURIComponent(id)}`, reload);
  const history = useData<StateRecord[]>(`/task-runs/${encodeURIComponent(id)}/states`, reload);
  const flowRunId = task.data?.flowRunId ?? null;
  const [siblings, setSiblings] = useState<TaskList | null>(null);
  useEffect(() => {
    if (!flowRunId) return;
    let live = true;
    fetchTaskList(flowRunId).then((list) => live && setSiblings(list), () => undefined);
    return () => {
      live = false;
    };
  }, [flowRunId]);
  useLiveEvents(flowRunId, (event) => {
    if (event.kind === "state" && event.taskRunId === id) trigger();
  });
  const byId = useMemo(() => new Map((siblings?.items ?? []).map((t) => [t.id, t])), [siblings]);
  if (task.error) return <p className="error">{task.error}</p>;
  const t = task.data;
  if (!t) return <p>Loading…</p>;
  const upstream = (siblings?.dependencies ?? []).filter((d) => d.taskRunId === id);
  const states = history.data ?? [];
  const attempts = states.filter((s) => s.name === "Running" || s.name === "Retrying");
  const failures = states.filter((s) => ["AwaitingRetry", "Failed", "TimedOut", "Crashed"].includes(s.name));
  const cached = t.state.name === "Cached";
  const cache = t.cacheKey ? (cached ? "hit" : "miss (result stored for next time)") : "not cached";
  return (
    <section className="run">
      <div className="toolbar">
        <h1>
          {t.taskKey}{" "}
          <span className={`state ${t.state.type.toLowerCase()}`} data-testid="task-state">
            {t.state.name}
          </span>
        </h1>
        <Link to={`/runs/${t.flowRunId}`}>← flow run</Link>
      </div>
      <p className="muted">
        {duration(t.startTime, t.endTime)} · {t.runCount} attempt(s) · cache: <span data-testid="cache">{cache}</span>
        {t.cacheKey && <code title={t.cacheKey}> {t.cacheKey.slice(0, 24)}…</code>}
      </p>
      <h2>Inputs from upstream task runs</h2>
      {upstream.length === 0 ? (
        <p className="muted">None: its arguments came from the flow.</p>
      ) : (
        <ul className="history" data-testid="upstream">
          {upstream.map((d) => {
            const u = byId.get(d.upstreamTaskRunId);
            return (
              <li key={d.upstreamTaskRunId}>
                <Link to={`/task-runs/${d.upstreamTaskRunId}`}>{u?.taskKey ?? d.upstreamTaskRunId}</Link> {u && <span className={`state ${u.state.type.toLowerCase()}`}>{u.state.name}</span>}{" "}
                <span className="muted">{d.kind === "wait" ? "(wait only)" : "(data)"}</span>
              </li>
            );
          })}
        </ul>
      )}
      <h2>Attempts</h2>
      {cached && attempts.length === 0 ? (
        <p className="notice" data-testid="served-from-cache">
          Served from cache: this task run did not execute. An earlier run with the same cache key stored its result, and this one reused it
          {t.cacheKey ? ` (key ${t.cacheKey.slice(0, 24)}…)` : ""}.
        </p>
      ) : attempts.length === 0 ? (
        <p className="muted">Not started yet.</p>
      ) : (
        <table className="runs" data-testid="attempts">
          <thead>
            <tr>
              <th>#</th>
              <th>Started</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a, i) => {
              const end = failures[i] ?? (i === attempts.length - 1 ? states.at(-1) : undefined);
              return (
                <tr key={a.id}>
                  <td>{i + 1}</td>
                  <td>{time(a.timestamp)}</td>
                  <td>
                    {end && <span className={`state ${end.type.toLowerCase()}`}>{end.name}</span>} <span className="muted">{end?.message ?? ""}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {t.error?.stack && (
        <>
          <h2>Error</h2>
          <pre>{t.error.stack}</pre>
        </>
      )}
      <h2>Logs</h2>
      <LogPanel flowRunId={t.flowRunId} taskRunId={id} url={url} />
    </section>
  );
}
