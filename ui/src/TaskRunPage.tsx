/**
 * A task run: its times and tags, its inputs from upstream task runs (virtualised past 100: a
 * reduce over a 10,000-way map lists them all), its result, every attempt with its outcome and
 * error, the cache key and hit or miss, its logs; live.
 */
import { ResultPreview } from "./ResultPreview.tsx";
import { useEffect, useMemo, useState } from "react";
import { useCoalescedReload, useData } from "./api.ts";
import { cpuText, duration, memoryText, time } from "./format.ts";
import { useLiveEvents } from "./live.ts";
import { LogPanel } from "./LogPanel.tsx";
import { Link } from "./router.ts";
import { fetchTaskList, upstreamOf, type TaskList } from "./run-data.ts";
import type { Dependency, StateRecord, TaskRun, TaskRunRecord as FullTaskRun } from "./types.ts";
import { VirtualRows } from "./VirtualRows.tsx";

/** Past this many inputs the list is virtualised. */
const PLAIN_INPUTS = 100;

interface AttemptRow {
  start: StateRecord;
  /** The state that ended it; undefined while it runs. */
  end: StateRecord | undefined;
}

/** Each attempt (a Running or Retrying state) with the state that ended it. */
function attemptRows(states: readonly StateRecord[]): AttemptRow[] {
  const rows: AttemptRow[] = [];
  let open: AttemptRow | null = null;
  for (const s of states) {
    if (s.type === "RUNNING") {
      if (open) open.end = s;
      rows.push((open = { start: s, end: undefined }));
    } else if (open) {
      open.end = s;
      open = null;
    }
  }
  return rows;
}

function InputRow({ d, upstream }: { d: Dependency; upstream: TaskRun | undefined }) {
  return (
    <div className="input-row" data-input={upstream?.taskKey ?? d.upstreamTaskRunId}>
      <Link to={`/task-runs/${d.upstreamTaskRunId}`}>{upstream?.taskKey ?? d.upstreamTaskRunId}</Link> {upstream && <span className={`state ${upstream.state.type.toLowerCase()}`}>{upstream.state.name}</span>}{" "}
      <span className="muted">{d.kind === "wait" ? "(wait only)" : "(data)"}</span>
    </div>
  );
}

export function TaskRunPage({ id, url }: { id: string; url: URL }) {
  const [reload, trigger] = useCoalescedReload(500);
  const task = useData<FullTaskRun>(`/task-runs/${encodeURIComponent(id)}`, reload);
  const history = useData<StateRecord[]>(`/task-runs/${encodeURIComponent(id)}/states`, reload);
  const result = useData<{ value: string | null; size: number; path: string | null }>(task.data?.resultId ? `/results/${encodeURIComponent(task.data.resultId)}` : null);
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
  const upstream = useMemo(() => (siblings ? upstreamOf(siblings, id) : []), [siblings, id]);
  if (task.error) return <p className="error">{task.error}</p>;
  const t = task.data;
  if (!t) return <p>Loading…</p>;
  const states = history.data ?? [];
  const attempts = attemptRows(states);
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
      <dl className="facts" data-testid="task-facts">
        <div>
          <dt>Task</dt>
          <dd>{t.taskName}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{time(t.createdAt)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd data-testid="task-started">{time(t.startTime)}</dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>{time(t.endTime)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{duration(t.startTime, t.endTime)}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{t.runCount}</dd>
        </div>
        {t.resources && (
          <>
            <div>
              <dt>CPU</dt>
              <dd data-testid="task-cpu" title="a task on the flow's event loop: the process's CPU while its synchronous part ran; on a thread: the thread's own">
                {cpuText(t.resources)}
              </dd>
            </div>
            <div>
              <dt>Peak memory</dt>
              <dd data-testid="task-memory" title="the process's resident memory (threads share it)">
                {memoryText(t.resources)}
              </dd>
            </div>
          </>
        )}
        {t.tags.length > 0 && (
          <div>
            <dt>Tags</dt>
            <dd data-testid="task-tags">{t.tags.map((tag) => `#${tag}`).join(" ")}</dd>
          </div>
        )}
        <div>
          <dt>Cache</dt>
          <dd>
            <span data-testid="cache">{cache}</span>
            {t.cacheKey && <code title={t.cacheKey}> {t.cacheKey.slice(0, 24)}…</code>}
          </dd>
        </div>
      </dl>
      <h2>Inputs from upstream task runs{upstream.length > 0 ? ` (${upstream.length.toLocaleString("en")})` : ""}</h2>
      {!siblings ? (
        <p className="muted">Loading…</p>
      ) : upstream.length === 0 ? (
        <p className="muted">None: its arguments came from the flow.</p>
      ) : upstream.length <= PLAIN_INPUTS ? (
        <div className="history" data-testid="upstream">
          {upstream.map((d) => (
            <InputRow key={d.upstreamTaskRunId} d={d} upstream={byId.get(d.upstreamTaskRunId)} />
          ))}
        </div>
      ) : (
        <VirtualRows testId="upstream" className="history" items={upstream} rowHeight={26} height={320} render={(d) => <InputRow d={d} upstream={byId.get(d.upstreamTaskRunId)} />} />
      )}
      {result.data && (
        <details open>
          <summary>Result ({result.data.size.toLocaleString()} bytes, devalue)</summary>
          <ResultPreview result={result.data} testId="task-result" />
        </details>
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
              <th>Duration</th>
              <th>Outcome</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map(({ start, end }, i) => {
              const failed = end && end.type !== "COMPLETED" && end.type !== "RUNNING";
              return (
                <tr key={start.id}>
                  <td>{i + 1}</td>
                  <td>{time(start.timestamp)}</td>
                  <td>{duration(start.timestamp, end?.timestamp ?? null)}</td>
                  <td>{end ? <span className={`state ${end.type.toLowerCase()}`}>{end.name}</span> : <span className="state running">running</span>}</td>
                  <td className={failed ? "error" : "muted"} data-testid="attempt-error">
                    {failed ? (end.message ?? "") : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {t.error?.stack && (
        <>
          <h2>Error of the last attempt</h2>
          <pre>{t.error.stack}</pre>
        </>
      )}
      <h2>Logs</h2>
      <LogPanel flowRunId={t.flowRunId} taskRunId={id} url={url} />
    </section>
  );
}
