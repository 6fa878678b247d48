/** A task run: its upstream inputs, every attempt with its error, the cache key and hit or miss, its logs. */
import { useMemo } from "react";
import { useData, type Dependency, type LogLine, type TaskRun } from "./api.ts";
import { duration, LEVELS, time } from "./format.ts";
import { navigate } from "./router.ts";

interface FullTaskRun extends TaskRun {
  flowRunId: string;
  cacheKey: string | null;
  error: { name?: string; message: string; stack?: string } | null;
}

export function TaskRunPage({ id }: { id: string }) {
  const task = useData<FullTaskRun>(`/task-runs/${encodeURIComponent(id)}`);
  const history = useData<{ id: number; name: string; type: string; timestamp: number; message: string | null }[]>(`/task-runs/${encodeURIComponent(id)}/states`);
  const flowRunId = task.data?.flowRunId ?? null;
  const siblings = useData<{ items: TaskRun[]; dependencies: Dependency[] }>(flowRunId ? `/flow-runs/${encodeURIComponent(flowRunId)}/task-runs` : null);
  const logs = useData<{ items: LogLine[] }>(flowRunId ? `/logs?flowRunId=${encodeURIComponent(flowRunId)}&taskRunId=${encodeURIComponent(id)}` : null);
  const byId = useMemo(() => new Map((siblings.data?.items ?? []).map((t) => [t.id, t])), [siblings.data]);
  if (task.error) return <p className="error">{task.error}</p>;
  const t = task.data;
  if (!t) return <p>Loading…</p>;
  const upstream = (siblings.data?.dependencies ?? []).filter((d) => d.taskRunId === id);
  const attempts = (history.data ?? []).filter((s) => s.name === "Running" || s.name === "Retrying");
  const failures = (history.data ?? []).filter((s) => ["AwaitingRetry", "Failed", "TimedOut", "Crashed"].includes(s.name));
  const cache = t.cacheKey ? (t.state.name === "Cached" ? "hit" : "miss (result stored for next time)") : "not cached";
  return (
    <section className="run">
      <div className="toolbar">
        <h1>
          {t.taskKey} <span className={`state ${t.state.type.toLowerCase()}`} data-testid="task-state">{t.state.name}</span>
        </h1>
        <a href={`/runs/${t.flowRunId}`} onClick={(e) => (e.preventDefault(), navigate(`/runs/${t.flowRunId}`))}>
          ← flow run
        </a>
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
                <a href={`/task-runs/${d.upstreamTaskRunId}`} onClick={(e) => (e.preventDefault(), navigate(`/task-runs/${d.upstreamTaskRunId}`))}>
                  {u?.taskKey ?? d.upstreamTaskRunId}
                </a>{" "}
                {u && <span className={`state ${u.state.type.toLowerCase()}`}>{u.state.name}</span>} <span className="muted">{d.kind === "wait" ? "(wait only)" : "(data)"}</span>
              </li>
            );
          })}
        </ul>
      )}
      <h2>Attempts</h2>
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
            const end = failures[i] ?? (i === attempts.length - 1 ? (history.data ?? []).at(-1) : undefined);
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
      {t.error?.stack && (
        <>
          <h2>Error</h2>
          <pre>{t.error.stack}</pre>
        </>
      )}
      <h2>Logs</h2>
      <pre className="logs">
        {(logs.data?.items ?? []).map((l) => `${new Date(l.timestamp).toISOString().slice(11, 23)} ${(LEVELS[l.level] ?? l.level).toString().padEnd(8)} ${l.message}`).join("\n") || "No logs."}
      </pre>
    </section>
  );
}
