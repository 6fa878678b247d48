/** A flow run: header and actions, task graph, timeline, task runs, live logs, its events, state history. */
import { useMemo, useState } from "react";
import { post, useData } from "./api.ts";
import { CopyButton } from "./CopyButton.tsx";
import { duration, time } from "./format.ts";
import { LogPanel } from "./LogPanel.tsx";
import { markdownHtml } from "./markdown.ts";
import { ResumeForm } from "./ResumeForm.tsx";
import { ArtifactCard } from "./ArtifactView.tsx";
import { RunEvents } from "./RunEvents.tsx";
import { Link, navigate } from "./router.ts";
import { useRunData } from "./run-data.ts";
import { TaskGraph } from "./TaskGraph.tsx";
import { TaskTable } from "./TaskTable.tsx";
import { Timeline } from "./Timeline.tsx";
import { TERMINAL_TYPES as TERMINAL } from "../../src/core/states.ts";
/** States whose message says what went wrong (Failed, TimedOut, Crashed); others' only inform. */
const ERROR_TYPES = new Set(["FAILED", "CRASHED"]);

/** A readable preview of a devalue-serialised result (its flat table of values, first 2,000 characters). */
function summarise(text: string): string {
  try {
    const table = JSON.parse(text) as unknown[];
    const resolve = (i: number, depth: number): unknown => {
      const v = table[i];
      if (depth > 6 || v === null || typeof v !== "object") return v;
      if (Array.isArray(v)) return typeof v[0] === "string" && /^[A-Z]/.test(v[0]) ? `${v[0]}(${String(v[1])})` : v.map((x) => (typeof x === "number" ? resolve(x, depth + 1) : x));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === "number" ? resolve(x, depth + 1) : x]));
    };
    const out = JSON.stringify(resolve(0, 0), null, 2);
    return out.length > 2000 ? `${out.slice(0, 2000)}…` : out;
  } catch {
    return text.slice(0, 2000);
  }
}

export function RunPage({ id, url }: { id: string; url: URL }) {
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const { run, history, children, artifacts, tasks, reloadRun } = useRunData(id);
  const result = useData<{ value: string | null; size: number; path: string | null }>(run.data?.resultId ? `/results/${encodeURIComponent(run.data.resultId)}` : null);
  const items = tasks?.items;
  // Keyed on the fetched list, not the live one: keys do not change with states, and the log
  // panel then does not re-render on every state change.
  const structure = tasks?.structure;
  const names = useMemo(() => new Map((structure?.items ?? []).map((t) => [t.id, t.taskKey])), [structure]);
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
  const act = async (action: "cancel" | "retry") => {
    try {
      await post(`/flow-runs/${encodeURIComponent(id)}/${action}`);
      setMessage({ text: action === "cancel" ? "Cancellation requested" : "Retry scheduled: a worker will resume the run", error: false });
      reloadRun();
    } catch (e) {
      setMessage({ text: `${action === "cancel" ? "Cancel" : "Retry"} refused: ${(e as Error).message}`, error: true });
    }
  };
  const taskList = items ?? [];

  return (
    <section className="run">
      <div className="toolbar">
        <h1>
          {r.name}{" "}
          <span className={`state ${r.state.type.toLowerCase()}`} data-testid="run-state">
            {r.state.name}
          </span>
        </h1>
        <span className="muted">
          {r.flowName} · {duration(r.startTime, r.endTime)} · run {r.runCount}
        </span>
        <div className="actions">
          {!TERMINAL.has(r.state.type) && <button onClick={() => void act("cancel")}>Cancel</button>}
          {["FAILED", "CRASHED", "CANCELLED"].includes(r.state.type) && <button onClick={() => void act("retry")}>Retry</button>}
          <CopyButton value={r.id} label="Copy id" />
        </div>
      </div>
      {message && (
        <p className={message.error ? "error" : "notice"} data-testid="run-notice">
          {message.text}
        </p>
      )}
      {r.state.type === "PAUSED" && (
        <ResumeForm
          runId={r.id}
          pausedAt={r.state.timestamp}
          onResumed={() => {
            setMessage({ text: "Resumed with input", error: false });
            reloadRun();
          }}
        />
      )}
      {r.parentFlowRunId && (
        <p>
          Child of{" "}
          <Link to={`/runs/${r.parentFlowRunId}`} data-testid="parent-link">
            its parent flow run
          </Link>
        </p>
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
          <pre data-testid="result">{result.data.value ? summarise(result.data.value) : `stored in a file on the machine that ran it (${result.data.path})`}</pre>
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

      <h2>Task graph</h2>
      {tasks?.error && <p className="error">{tasks.error}</p>}
      {!tasks ? (
        <p className="muted">Loading task runs…</p>
      ) : taskList.length === 0 ? (
        <p className="muted">No task runs{TERMINAL.has(r.state.type) ? "." : " yet."}</p>
      ) : (
        <TaskGraph structure={tasks.structure} tasks={taskList} onGroup={setTaskFilter} />
      )}

      {taskList.length > 0 && (
        <>
          <h2>Timeline</h2>
          <Timeline tasks={taskList} runStart={r.startTime} runEnd={r.endTime} />
          <TaskTable tasks={taskList} taskName={taskFilter} onClear={() => setTaskFilter("")} />
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
    </section>
  );
}
