/** Runs per hour as stacked bars by state type, with axes and a legend. */
import { time } from "./format.ts";

const ORDER = ["COMPLETED", "RUNNING", "PENDING", "SCHEDULED", "PAUSED", "CANCELLING", "CANCELLED", "FAILED", "CRASHED"];
export const STATE_COLOURS: Record<string, string> = {
  COMPLETED: "var(--completed)",
  FAILED: "var(--failed)",
  CRASHED: "var(--crashed)",
  RUNNING: "var(--running)",
  CANCELLED: "var(--cancelled)",
  CANCELLING: "var(--cancelling)",
  PAUSED: "var(--paused)",
  SCHEDULED: "var(--scheduled)",
  PENDING: "var(--pending)",
};

const W = 1000;
const H = 200;
const LEFT = 40;
const BOTTOM = 24;
const TOP = 8;

/** A round step for about four ticks up to `peak`. */
export function step(peak: number): number {
  const raw = peak / 4;
  const base = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  return [1, 2, 5, 10].map((m) => m * base).find((s) => s >= raw) ?? base * 10;
}

export function RunsChart({ buckets, since, bucketMs, count }: { buckets: { bucket: number; stateType: string; count: number }[]; since: number; bucketMs: number; count: number }) {
  const stacks = Array.from({ length: count }, () => new Map<string, number>());
  for (const b of buckets) if (b.bucket >= 0 && b.bucket < count) stacks[b.bucket]!.set(b.stateType, b.count);
  const totals = stacks.map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  const tick = step(Math.max(1, ...totals));
  const top = Math.max(tick, Math.ceil(Math.max(1, ...totals) / tick) * tick);
  const plotH = H - TOP - BOTTOM;
  const slot = (W - LEFT - 8) / count;
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  const types = ORDER.filter((t) => buckets.some((b) => b.stateType === t));
  const labelEvery = Math.ceil(count / 8);
  return (
    <figure className="chart-box">
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="flow runs per hour by state" data-testid="chart">
        {Array.from({ length: Math.floor(top / tick) + 1 }, (_, i) => i * tick).map((v) => (
          <g key={v} className="axis">
            <line x1={LEFT} x2={W - 8} y1={y(v)} y2={y(v)} className="grid" />
            <text x={LEFT - 6} y={y(v) + 4} textAnchor="end">
              {v}
            </text>
          </g>
        ))}
        {stacks.map((m, i) => {
          let base = 0;
          return ORDER.filter((t) => m.has(t)).map((type) => {
            const n = m.get(type)!;
            const rect = <rect key={`${i}-${type}`} x={LEFT + i * slot + slot * 0.15} y={y(base + n)} width={slot * 0.7} height={y(base) - y(base + n)} fill={STATE_COLOURS[type] ?? "var(--pending)"} data-bar={type}>
              <title>{`${time(since + i * bucketMs)}: ${n} ${type.toLowerCase()}`}</title>
            </rect>;
            base += n;
            return rect;
          });
        })}
        <line x1={LEFT} x2={W - 8} y1={TOP + plotH} y2={TOP + plotH} className="axis-line" />
        {stacks.map((_, i) =>
          i % labelEvery === 0 ? (
            <text key={i} x={LEFT + i * slot + slot / 2} y={H - 6} textAnchor="middle" className="axis">
              {new Date(since + i * bucketMs).toLocaleString([], count > 24 ? { weekday: "short", hour: "2-digit" } : { hour: "2-digit", minute: "2-digit" })}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="legend" data-testid="legend">
        {types.length === 0
          ? "No runs in this window."
          : types.map((t) => (
              <span key={t}>
                <i style={{ background: STATE_COLOURS[t] }} /> {t.charAt(0) + t.slice(1).toLowerCase()}
              </span>
            ))}
      </figcaption>
    </figure>
  );
}
