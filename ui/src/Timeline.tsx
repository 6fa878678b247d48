/**
 * A Gantt-style timeline of a run's task runs (virtualised: only the rows in view are drawn),
 * laid over the flow run's attempts: a retried or resumed run shows each attempt as its own
 * band, with the idle time between attempts cut out (run-times.ts's scale), so a retry an hour
 * later does not squeeze every bar into a sliver.
 */
import { useMemo } from "react";
import { duration, time } from "./format.ts";
import { attemptScale, formatMs, type Attempt } from "./run-times.ts";
import type { TaskRun } from "./types.ts";
import { VirtualRows } from "./VirtualRows.tsx";

const pct = (f: number) => `${(f * 100).toFixed(3)}%`;

export function Timeline({ tasks, runStart, runEnd, attempts = [] }: { tasks: TaskRun[]; runStart: number | null; runEnd: number | null; attempts?: Attempt[] }) {
  const now = Date.now();
  const scale = useMemo(() => {
    // Loops, not Math.min(...spread): a spread of 100,000 arguments overflows the stack.
    let lo = runStart ?? Infinity;
    let hi = runEnd ?? now;
    for (const t of tasks) {
      if (t.startTime !== null && t.startTime < lo) lo = t.startTime;
      const end = t.endTime ?? now;
      if (end > hi) hi = end;
    }
    if (!Number.isFinite(lo)) lo = hi - 1;
    return attemptScale(attempts, lo, hi, now);
  }, [tasks, runStart, runEnd, now, attempts]);
  return (
    <div className="timeline" data-testid="timeline">
      {attempts.length > 1 && (
        <div className="bar-row attempts" data-testid="timeline-attempts">
          <span className="bar-label">attempts</span>
          <span className="bar-track">
            {scale.segments.map((s, i) => (
              <span key={s.start} className="attempt" style={{ left: pct(s.left), width: pct(s.width) }} title={`attempt ${i + 1}: ${time(s.start)} – ${s.end === null ? "running" : time(s.end)}`} data-attempt={i + 1}>
                {i + 1} · {formatMs((s.end ?? now) - s.start)}
              </span>
            ))}
          </span>
        </div>
      )}
      <VirtualRows
        items={tasks}
        rowHeight={20}
        height={280}
        render={(t) => {
          if (t.startTime == null) return <div className="bar-row"><span className="bar-label">{t.taskKey}</span><span className="bar-track" /></div>;
          const left = scale.x(t.startTime);
          const right = scale.x(t.endTime ?? now, "end");
          return (
            <div className="bar-row">
              <span className="bar-label">{t.taskKey}</span>
              <span className="bar-track">
                <span
                  className={`bar ${t.state.type.toLowerCase()}`}
                  style={{ left: pct(left), width: pct(Math.max(0.005, right - left)) }}
                  title={`${t.taskKey}: ${t.state.name}, ${duration(t.startTime, t.endTime)}`}
                />
              </span>
            </div>
          );
        }}
      />
    </div>
  );
}
