/**
 * A flow run's attempts and times from its state history (pure: the run page and its unit test
 * use it). An attempt is a stretch in a RUNNING-type state (Running, Retrying), from entering it
 * to the next state of another type; the time between attempts (AwaitingRetry, Paused, waiting
 * for a worker) is idle, so a retried run's duration counts only its attempts. The timeline maps
 * times onto its attempts with the idle gaps cut out.
 */
import type { StateRecord } from "./types.ts";

export interface Attempt {
  start: number;
  /** null while it runs. */
  end: number | null;
}

/** The run's attempts, oldest first. */
export function attemptsOf(history: readonly Pick<StateRecord, "type" | "timestamp">[]): Attempt[] {
  const out: Attempt[] = [];
  let open: Attempt | null = null;
  for (const s of history) {
    if (s.type === "RUNNING") {
      if (!open) out.push((open = { start: s.timestamp, end: null }));
    } else if (open) {
      open.end = s.timestamp;
      open = null;
    }
  }
  return out;
}

/** Milliseconds spent running, over every attempt (a running attempt counts up to `now`). */
export function activeMs(attempts: readonly Attempt[], now: number): number {
  let total = 0;
  for (const a of attempts) total += Math.max(0, (a.end ?? now) - a.start);
  return total;
}

/** "850 ms", "3.2 s", "4 min 5 s", "2 h 3 min". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  // Rounded once, so that 59.6 s reads "1 min 0 s", never "0 min 60 s".
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "in 5 min 3 s", "3.2 s ago": a time relative to `now`. */
export function relative(at: number, now: number): string {
  const ms = at - now;
  return ms >= 0 ? `in ${formatMs(ms)}` : `${formatMs(-ms)} ago`;
}

/** One attempt on the timeline: where it starts (fraction of the width) and how wide it is. */
export interface Segment extends Attempt {
  left: number;
  width: number;
}

/**
 * A time scale over the attempts with the idle gaps between them cut out: each attempt gets a
 * share of the width proportional to its length, with `gap` (a fraction of the width) between
 * attempts. Times before the first attempt or after the last map to the nearest edge.
 * Without attempts (a run never started, or one whose history is not loaded), the scale spans
 * `[lo, hi]` in one piece.
 */
export function attemptScale(attempts: readonly Attempt[], lo: number, hi: number, now: number, gap = 0.02): { segments: Segment[]; x(t: number, edge?: "start" | "end"): number } {
  const spans = attempts.length ? attempts.map((a) => ({ ...a, stop: a.end ?? now })) : [{ start: lo, end: hi, stop: hi }];
  // The first attempt starts at the earliest task start (a task may start before the flow says Running).
  spans[0]!.start = Math.min(spans[0]!.start, lo);
  spans[spans.length - 1]!.stop = Math.max(spans[spans.length - 1]!.stop, hi);
  const total = spans.reduce((n, s) => n + Math.max(1, s.stop - s.start), 0);
  const room = 1 - gap * (spans.length - 1);
  let left = 0;
  const segments: (Segment & { stop: number })[] = spans.map((s) => {
    const width = (Math.max(1, s.stop - s.start) / total) * room;
    const seg = { start: s.start, end: s.end, stop: s.stop, left, width };
    left += width + gap;
    return seg;
  });
  // A time in a gap is the next attempt's left edge for a bar's start, the last one's right edge for its end.
  const x = (t: number, edge: "start" | "end" = "start") => {
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      if (t < s.start) return edge === "end" && i > 0 ? segments[i - 1]!.left + segments[i - 1]!.width : s.left;
      if (t <= s.stop) return s.left + ((t - s.start) / Math.max(1, s.stop - s.start)) * s.width;
    }
    const last = segments[segments.length - 1]!;
    return last.left + last.width;
  };
  return { segments: segments.map(({ stop: _, ...s }) => s), x };
}
