/**
 * A run's task runs as a virtualised table: narrowed to one task (a graph group's click sets
 * `?task=`), to a state type (`?tstate=`) and to keys containing a text (`?tq=`), sorted by any
 * column (`?tsort=column:asc|desc`; call order by default). During a live run "Jump to running"
 * brings the next running task run into view. j / k / Enter move through it and open a task run.
 */
import { useMemo, useRef } from "react";
import { duration, time } from "./format.ts";
import { useListKeys } from "./keys.ts";
import { navigate, replaceQuery } from "./router.ts";
import { STATE_GROUPS } from "./states.ts";
import type { TaskRun } from "./types.ts";
import { VirtualRows, type VirtualRowsHandle } from "./VirtualRows.tsx";

const COLUMNS = [
  ["key", "Key"],
  ["state", "State"],
  ["attempts", "Attempts"],
  ["started", "Started"],
  ["duration", "Duration"],
  ["message", "Message"],
] as const;
type Column = (typeof COLUMNS)[number][0];

/** Compares two task runs by a column (nulls last whichever the direction). */
function comparator(column: Column, now: number): (a: TaskRun, b: TaskRun) => number {
  const num = (f: (t: TaskRun) => number | null) => (a: TaskRun, b: TaskRun) => {
    const x = f(a);
    const y = f(b);
    return x === null ? (y === null ? 0 : Infinity) : y === null ? -Infinity : x - y;
  };
  switch (column) {
    case "key":
      return (a, b) => a.taskKey.localeCompare(b.taskKey, "en", { numeric: true });
    case "state":
      return (a, b) => a.state.name.localeCompare(b.state.name);
    case "attempts":
      return num((t) => t.runCount);
    case "started":
      return num((t) => t.startTime);
    case "duration":
      return num((t) => (t.startTime === null ? null : (t.endTime ?? now) - t.startTime));
    case "message":
      return (a, b) => (a.state.message ?? "").localeCompare(b.state.message ?? "");
  }
}

export function TaskTable({ tasks, taskName, onClear, url }: { tasks: TaskRun[]; taskName: string; onClear: () => void; url: URL }) {
  const stateType = url.searchParams.get("tstate") ?? "";
  const search = url.searchParams.get("tq") ?? "";
  const [sortColumn, sortDir] = (url.searchParams.get("tsort") ?? "").split(":") as [Column | "", string | undefined];
  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    let out = tasks.filter((t) => (!taskName || t.taskName === taskName) && (!stateType || t.state.type === stateType) && (!needle || t.taskKey.toLowerCase().includes(needle)));
    if (COLUMNS.some(([c]) => c === sortColumn)) {
      const compare = comparator(sortColumn as Column, Date.now());
      const sign = sortDir === "desc" ? -1 : 1;
      // A stable sort on a copy: equal rows keep call order.
      out = out.slice().sort((a, b) => {
        const c = compare(a, b);
        return c === Infinity || c === -Infinity ? c : sign * c;
      });
    }
    return out;
  }, [tasks, taskName, stateType, search, sortColumn, sortDir]);
  // One pass for the state filter's counts (it re-renders with the selection).
  const byType = useMemo(() => {
    const counts = new Map<string, number>();
    for (const t of tasks) counts.set(t.state.type, (counts.get(t.state.type) ?? 0) + 1);
    return counts;
  }, [tasks]);
  const running = useMemo(() => shown.flatMap((t, i) => (t.state.type === "RUNNING" ? [i] : [])), [shown]);
  const list = useRef<VirtualRowsHandle>(null);
  const [selected, setSelected] = useListKeys({
    count: shown.length,
    resetKey: `${taskName}|${stateType}|${search}|${sortColumn}:${sortDir}`,
    onOpen: (i) => shown[i] && navigate(`/task-runs/${shown[i].id}`),
    reveal: (i) => list.current?.scrollToIndex(i),
  });
  const sortBy = (column: Column) => replaceQuery({ tsort: sortColumn === column ? (sortDir === "desc" ? null : `${column}:desc`) : `${column}:asc` });
  const jump = () => {
    const next = running.find((i) => i > selected) ?? running[0];
    if (next !== undefined) setSelected(next);
  };
  const narrowed = Boolean(taskName || stateType || search);
  return (
    <>
      <h2 id="task-runs">
        Task runs ({narrowed ? `${shown.length.toLocaleString("en")} of ${tasks.length.toLocaleString("en")}` : tasks.length.toLocaleString("en")})
        {taskName && (
          <span className="chip" data-testid="task-filter">
            task: {taskName}{" "}
            <button onClick={onClear} aria-label="show all task runs">
              ✕
            </button>
          </span>
        )}
      </h2>
      <div className="toolbar">
        <label>
          State{" "}
          <select value={stateType} onChange={(e) => replaceQuery({ tstate: e.target.value })} aria-label="task state filter">
            <option value="">any</option>
            {STATE_GROUPS.map((g) => (
              <option key={g.type} value={g.type}>
                {g.label} ({(byType.get(g.type) ?? 0).toLocaleString("en")})
              </option>
            ))}
          </select>
        </label>
        <label>
          Key <input type="search" value={search} onChange={(e) => replaceQuery({ tq: e.target.value })} placeholder="contains…" aria-label="search task keys" />
        </label>
        {running.length > 0 && (
          <button onClick={jump} data-testid="jump-running">
            Jump to running ({running.length.toLocaleString("en")})
          </button>
        )}
      </div>
      <div className="task-table" data-testid="task-runs">
        <div className="task-row head">
          {COLUMNS.map(([column, label]) => (
            <button
              key={column}
              className="sort"
              onClick={() => sortBy(column)}
              aria-sort={sortColumn === column ? (sortDir === "desc" ? "descending" : "ascending") : undefined}
              data-sort={column}
            >
              {label}
              {sortColumn === column ? (sortDir === "desc" ? " ↓" : " ↑") : ""}
            </button>
          ))}
        </div>
        {shown.length === 0 && <p className="muted">No task runs match.</p>}
        <VirtualRows
          ref={list}
          items={shown}
          rowHeight={32}
          height={420}
          render={(t, i) => (
            <div
              className={`task-row${i === selected ? " selected" : ""}`}
              data-task={t.taskKey}
              data-selected={i === selected}
              onClick={() => {
                setSelected(i);
                navigate(`/task-runs/${t.id}`);
              }}
            >
              <span>{t.taskKey}</span>
              <span>
                <span className={`state ${t.state.type.toLowerCase()}`}>{t.state.name}</span>
              </span>
              <span>{t.runCount}</span>
              <span title={time(t.startTime)}>{t.startTime === null ? "–" : new Date(t.startTime).toLocaleTimeString()}</span>
              <span>{duration(t.startTime, t.endTime)}</span>
              <span className="muted">{t.state.message ?? ""}</span>
            </div>
          )}
        />
      </div>
    </>
  );
}
