/**
 * Durations as people write them in specs: `0s`, `90s`, `10m`, `26h`, `7d`, `500ms`. A number
 * and one unit, nothing else: "1h30m" or a bare "10" are refused rather than guessed at. Pure.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** The duration in ms; a TypeError naming `field` for anything else. */
export function parseDuration(text: string, field: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new TypeError(`${field} must be a duration: a number and a unit (ms, s, m, h, d), e.g. 0s, 10m, 26h; got ${JSON.stringify(text).slice(0, 80)}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** `ms` in the largest unit that divides it: 600000 → "10m". */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) if (ms > 0 && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return ms === 0 ? "0s" : `${ms}ms`;
}
