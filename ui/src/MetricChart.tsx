/** A metric's curves: step on x, value on y, one line per run in the run's colour (narrower than the page's other charts: two sit side by side). */
import { niceTicks } from "./axis-ticks.ts";

const W = 600;
const H = 220;
const LEFT = 52;
const RIGHT = 16;
const BOTTOM = 24;
const TOP = 10;

/** Colours of compared runs, in selection order (the compare view's headers use the same). */
export const SERIES_COLOURS = ["#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5f3dc4"];
export const seriesColour = (i: number): string => SERIES_COLOURS[i % SERIES_COLOURS.length]!;

export interface Series {
  runId: string;
  label: string;
  colour: string;
  points: { step: number; value: number }[];
}

/** A short label for an axis value: up to four significant digits. */
export function compact(v: number): string {
  if (v === 0) return "0";
  const abs = Math.abs(v);
  return abs >= 1e5 || abs < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export function MetricChart({ metric, series }: { metric: string; series: Series[] }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  const steps = all.map((p) => p.step);
  const values = all.map((p) => p.value);
  const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  // A flat curve gets a band around its value instead of a zero-height axis.
  if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  const yTicks = niceTicks(lo, hi);
  const [y0, y1] = [yTicks[0]!, yTicks.at(-1)!];
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const x = (step: number) => (x0 === x1 ? LEFT + plotW / 2 : LEFT + ((step - x0) / (x1 - x0)) * plotW);
  const y = (v: number) => TOP + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const xTicks = x0 === x1 ? [x0] : niceTicks(x0, x1).filter((s) => s >= x0 && s <= x1 && Number.isInteger(s));
  return (
    <figure className="chart-box metric-chart" data-testid="metric-chart" data-metric={metric}>
      <div className="metric-title">
        <b>{metric}</b>
      </div>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${metric} by step`}>
        {yTicks.map((v) => (
          <g key={v} className="axis">
            <line x1={LEFT} x2={W - RIGHT} y1={y(v)} y2={y(v)} className="grid" />
            <text x={LEFT - 6} y={y(v) + 4} textAnchor="end">
              {compact(v)}
            </text>
          </g>
        ))}
        <line x1={LEFT} x2={W - RIGHT} y1={TOP + plotH} y2={TOP + plotH} className="axis-line" />
        {xTicks.map((s) => (
          <text key={s} x={x(s)} y={H - 6} textAnchor="middle" className="axis">
            {s}
          </text>
        ))}
        {series.map((s) => (
          <g key={s.runId} data-testid="metric-line" data-run={s.runId}>
            <polyline className="metric-line" stroke={s.colour} points={s.points.map((p) => `${x(p.step)},${y(p.value)}`).join(" ")} />
            {s.points.length <= 60 &&
              s.points.map((p) => (
                <circle key={p.step} cx={x(p.step)} cy={y(p.value)} r={3} fill={s.colour}>
                  <title>{`${s.label}: ${metric} = ${p.value} at step ${p.step}`}</title>
                </circle>
              ))}
          </g>
        ))}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.runId}>
            <i style={{ background: s.colour }} /> {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
