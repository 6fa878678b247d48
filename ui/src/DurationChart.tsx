/** A flow's run durations over time: one dot per run (x: its start, y: how long it took) in its end state's colour, joined by a line. */
import { STATE_COLOURS, step } from "./Chart.tsx";
import { duration, time } from "./format.ts";
import type { FlowDetail } from "./types.ts";

const W = 1000;
const H = 220;
const LEFT = 64;
const RIGHT = 16;
const BOTTOM = 24;
const TOP = 10;

export function DurationChart({ points }: { points: FlowDetail["durations"] }) {
  if (points.length === 0) return <p className="muted" data-testid="durations-empty">No run of this flow has started and ended yet.</p>;
  const peak = Math.max(1, ...points.map((p) => p.durationMs));
  const tick = step(peak);
  const top = Math.ceil(peak / tick) * tick;
  const first = points[0]!.startTime;
  const last = points.at(-1)!.startTime;
  const span = Math.max(1, last - first);
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  // One run alone sits in the middle; several spread over the width by their start times.
  const x = (t: number) => (points.length === 1 ? LEFT + plotW / 2 : LEFT + ((t - first) / span) * plotW);
  const y = (ms: number) => TOP + plotH - (ms / top) * plotH;
  const labels = points.length === 1 ? [first] : Array.from({ length: 5 }, (_, i) => first + (span * i) / 4);
  const sameDay = new Date(first).toDateString() === new Date(last).toDateString();
  return (
    <figure className="chart-box">
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="run durations over time" data-testid="duration-chart">
        {Array.from({ length: Math.floor(top / tick) + 1 }, (_, i) => i * tick).map((v) => (
          <g key={v} className="axis">
            <line x1={LEFT} x2={W - RIGHT} y1={y(v)} y2={y(v)} className="grid" />
            <text x={LEFT - 6} y={y(v) + 4} textAnchor="end">
              {v === 0 ? "0" : duration(0, v)}
            </text>
          </g>
        ))}
        <line x1={LEFT} x2={W - RIGHT} y1={TOP + plotH} y2={TOP + plotH} className="axis-line" />
        <polyline className="duration-line" points={points.map((p) => `${x(p.startTime)},${y(p.durationMs)}`).join(" ")} />
        {points.map((p) => (
          <circle key={p.id} cx={x(p.startTime)} cy={y(p.durationMs)} r={4} fill={STATE_COLOURS[p.stateType] ?? "var(--pending)"} data-point={p.stateType}>
            <title>{`${p.name}: ${duration(0, p.durationMs)}, started ${time(p.startTime)} (${p.stateType.toLowerCase()})`}</title>
          </circle>
        ))}
        {labels.map((t, i) => (
          <text key={i} x={x(t)} y={H - 6} textAnchor={points.length === 1 ? "middle" : i === 0 ? "start" : i === labels.length - 1 ? "end" : "middle"} className="axis">
            {new Date(t).toLocaleString([], sameDay ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })}
          </text>
        ))}
      </svg>
      <figcaption className="legend">
        {[...new Set(points.map((p) => p.stateType))].map((t) => (
          <span key={t}>
            <i style={{ background: STATE_COLOURS[t] }} /> {t.charAt(0) + t.slice(1).toLowerCase()}
          </span>
        ))}
        <span>the {points.length} newest runs that started and ended</span>
      </figcaption>
    </figure>
  );
}
