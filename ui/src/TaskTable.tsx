/**
 * A run's task runs as a virtualised table, optionally narrowed to one task (a graph group's
 * click sets `?task=`); j / k / Enter move through it and open a task run.
 */
import { useMemo, useRef } from "react";
import { duration } from "./format.ts";
import { useListKeys } from "./keys.ts";
import { navigate } from "./router.ts";
import type { TaskRun } from "./types.ts";
import { VirtualRows, type VirtualRowsHandle } from "./VirtualRows.tsx";

export function TaskTable({ tasks, taskName, onClear }: { tasks: TaskRun[]; taskName: string; onClear: () => void }) {
  const shown = useMemo(() => (taskName ? tasks.filter((t) => t.taskName === taskName) : tasks), [tasks, taskName]);
  const list = useRef<VirtualRowsHandle>(null);
  const [selected, setSelected] = useListKeys({
    count: shown.length,
    resetKey: taskName,
    onOpen: (i) => shown[i] && navigate(`/task-runs/${shown[i].id}`),
    reveal: (i) => list.current?.scrollToIndex(i),
  });
  return (
    <>
      <h2 id="task-runs">
        Task runs ({taskName ? `${shown.length.toLocaleString("en")} of ${tasks.length.toLocaleString("en")}` : tasks.length.toLocaleString("en")})
        {taskName && (
          <span className="chip" data-testid="task-filter">
            task: {taskName}{" "}
            <button onClick={onClear} aria-label="show all task runs">
              ✕
            </button>
          </span>
        )}
      </h2>
      <div className="task-table" data-testid="task-runs">
        <div className="task-row head">
          <span>Key</span>
          <span>State</span>
          <span>Attempts</span>
          <span>Duration</span>
          <span>Message</span>
        </div>
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
              <span>{duration(t.startTime, t.endTime)}</span>
              <span className="muted">{t.state.message ?? ""}</span>
            </div>
          )}
        />
      </div>
    </>
  );
}
