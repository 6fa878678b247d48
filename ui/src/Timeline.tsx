/** A Gantt-style timeline of a run's task runs (virtualised: only the rows in view are drawn). */
import { useMemo } from "react";
import { duration } from "./format.ts";
import type { TaskRun } from "./types.ts";
import { VirtualRows } from "./VirtualRows.tsx";

export function Timeline({ tasks, runStart, runEnd }: { tasks: TaskRun[]; runStart: number | null; runEnd: number | null }) {
  const now = Date.now();
  const [t0, span] = useMemo(() => {
    // Loops, not Math.min(...spread): a spread of 100,000 arguments overflows the stack.
    let lo = runStart ?? Infinity;
    let hi = runEnd ?? now;
    for (const t of tasks) {
      if (t.startTime !== null && t.startTime < lo) lo = t.startTime;
      const end = t.endTime ?? now;
      if (end > hi) hi = end;
    }
    return [lo, Math.max(1, hi - lo)];
  }, [tasks, runStart, runEnd, now]);
  return (
    <div className="timeline" data-testid="timeline">
      <VirtualRows
        items={tasks}
        rowHeight={20}
        height={280}
        render={(t) => (
          <div className="bar-row">
            <span className="bar-label">{t.taskKey}</span>
            <span className="bar-track">
              {t.startTime != null && (
                <span
                  className={`bar ${t.state.type.toLowerCase()}`}
                  style={{ left: `${((t.startTime - t0) / span) * 100}%`, width: `${Math.max(0.5, (((t.endTime ?? now) - t.startTime) / span) * 100)}%` }}
                  title={`${t.taskKey}: ${t.state.name}, ${duration(t.startTime, t.endTime)}`}
                />
              )}
            </span>
          </div>
        )}
      />
    </div>
  );
}
