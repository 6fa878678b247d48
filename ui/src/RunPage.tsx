/** A flow run: header and actions, task graph, timeline, task runs, live logs, its events, state history. */
import { ResultPreview } from "./ResultPreview.tsx";
import { useMemo, useState } from "react";
import { useData } from "./api.ts";
import { time } from "./format.ts";
import { LogPanel } from "./LogPanel.tsx";
import { markdownHtml } from "./markdown.ts";
import { ResumeForm } from "./ResumeForm.tsx";
import { ArtifactCard } from "./ArtifactView.tsx";
import { RunAssets } from "./RunAssets.tsx";
import { RunEvents } from "./RunEvents.tsx";
import { Link, navigate } from "./router.ts";
import { useRunData } from "./run-data.ts";
import { RunHeader } from "./RunHeader.tsx";
import { attemptsOf } from "./run-times.ts";
import { TaskGraph } from "./TaskGraph.tsx";
import { TaskTable } from "./TaskTable.tsx";
import { Timeline } from "./Timeline.tsx";
import { TERMINAL_TYPES as TERMINAL } from "../../src/core/states.ts";
import { useCan } from "./can.ts";
/** States whose message says what went wrong (Failed, TimedOut, Crashed); others' only inform. */
const ERROR_TYPES = new Set(["FAILED", "CRASHED"]);

export function RunPage({ id, url }: { id: string; url: URL }) {
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const can = useCan();
  const { run, history, children, artifacts, tasks, reloadRun } = useRunData(id);
  const result = useData<{ value: string | null; size: number; path: string | null }>(run.data?.resultId && can("results:read") ? `/results/${encodeURIComponent(run.data.resultId)}` : null);
  const items = tasks?.items;
  // Keyed on the fetched list, not the live one: keys do not change with states, and the log
  // panel then does not re-render on every state change.
  const structure = tasks?.structure;
  // Task keys by id, built when the log panel first shows a task run's line (not for 100,000
  // task runs on every first render).
  const names = useMemo(() => {
    let map: Map<string, string> | null = null;
    return { get: (taskRunId: string) => (map ??= new Map((structure?.items ?? []).map((t) => [t.id, t.taskKey]))).get(taskRunId) };
  }, [structure]);
  const attempts = useMemo(() => attemptsOf(history.data ?? []), [history.data]);
  const taskFilter = url.searchParams.get("task") ?? "";
  const setTaskFilter = (name: string) => {
    const next = new URLSearchParams(url.search);
    if (name) next.set("task", name);
    else next.delete("task");
    navigate(`${url.pathname}${next.size ? `?${next.toString()}` : ""}`);
    if (name) requestAnimationFrame(() => document.getElementById("task-runs")?.scrollIntoView({ block: "start" }));
  };

  if (run.error) return <p className="error">{run.error}</p>;
  const r = run.data;
  if (!r) return <p>Loading…</p>;
  const taskList = items ?? [];

  return (
    <section className="run">
      <RunHeader run={r} attempts={attempts} onChanged={reloadRun} onNotice={(text, error = false) => setMessage({ text, error })} />
      {message && (
        <p className={message.error ? "error" : "notice"} data-testid="run-notice">
          {message.text}
        </p>
      )}
      {can("runs:operate") && r.state.type === "PAUSED" && (
        <ResumeForm
          runId={r.id}
          pausedAt={r.state.timestamp}
          onResumed={() => {
            setMessage({ text: "Resumed with input", error: false });
            reloadRun();
          }}
        />
      )}
      {(children.data?.items.length ?? 0) > 0 && (
        <p data-testid="subflows">
          Sub-flow runs:{" "}
          {children.data!.items.map((c) => (
            <Link key={c.id} to={`/runs/${c.id}`} style={{ marginRight: 10 }}>
              {c.flowName} ({c.name}) <span className={`state ${c.state.type.toLowerCase()}`}>{c.state.name}</span>
            </Link>
          ))}
        </p>
      )}
      {r.state.message && (
        <p className={ERROR_TYPES.has(r.state.type) ? "error" : "muted"} data-testid="state-message">
          {r.state.message}
        </p>
      )}
      <details open>
        <summary>Parameters</summary>
        <pre data-testid="parameters">{JSON.stringify(r.parameters, null, 2)}</pre>
      </details>
      {result.data && (
        <details open>
          <summary>Result ({result.data.size.toLocaleString()} bytes, devalue)</summary>
          <ResultPreview result={result.data} testId="result" />
        </details>
      )}

      {(artifacts.data?.items.length ?? 0) > 0 && (
        <>
          <h2>Artifacts</h2>
          {artifacts.data!.items.map((a) => (
            <ArtifactCard key={a.id} artifact={a} />
          ))}
        </>
      )}

      <RunAssets flowRunId={r.id} />

      <h2>Task graph</h2>
      {tasks?.error && <p className="error">{tasks.error}</p>}
      {!tasks ? (
        <p className="muted">Loading task runs…</p>
      ) : taskList.length === 0 && !children.data?.items.length ? (
        <p className="muted">No task runs{TERMINAL.has(r.state.type) ? "." : " yet."}</p>
      ) : (
        <TaskGraph structure={tasks.structure} tasks={taskList} subflows={children.data?.items} onGroup={setTaskFilter} />
      )}

      {taskList.length > 0 && (
        <>
          <h2>Timeline</h2>
          <Timeline tasks={taskList} runStart={r.startTime} runEnd={r.endTime} attempts={attempts} />
          <TaskTable tasks={taskList} taskName={taskFilter} onClear={() => setTaskFilter("")} url={url} />
        </>
      )}

      <h2>Logs</h2>
      <LogPanel flowRunId={id} url={url} names={names} />

      <h2>Events</h2>
      <RunEvents runId={id} />

      <h2>State history</h2>
      <ul className="history" data-testid="history">
        {(history.data ?? []).map((s) => (
          <li key={s.id}>
            <span className={`state ${s.type.toLowerCase()}`}>{s.name}</span> {time(s.timestamp)} {s.message && <span className="muted">— {s.message}</span>}
          </li>
        ))}
      </ul>

      {can("audit:inspect") && (
        <>
      <h2>Compliance report</h2>
      <p className="muted" data-testid="report-links">
        Who or what started it, source and lock-file hashes, task input and output hashes, its audit entries:{" "}
        {(["pdf", "md", "json"] as const).map((format, i) => (
          <span key={format}>
            {i > 0 && " · "}
            <a href={`/api/flow-runs/${encodeURIComponent(id)}/report?format=${format}`} download data-testid={`report-${format}`}>
              {format === "md" ? "Markdown" : format.toUpperCase()}
            </a>
          </span>
        ))}
      </p>
        </>
      )}
    </section>
  );
}
