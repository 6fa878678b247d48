/** Values given on the command line: counts, durations (`90s`, `10m`, `1h30m`, `2d`) and instants (ISO 8601); errors name the flag. */
import { BatonError } from "../core/errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10m`, `1h30m`, `90s`, `2d` in ms; the error names the flag. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text.trim()) throw new BatonError(`${flag} must be a duration such as 90s, 10m, 1h30m or 2d, got "${text}"`);
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
}

/** An ISO 8601 date-time (`2026-12-24T08:00Z`, `2026-12-24 08:00+01:00`) in epoch ms; the error names the flag. */
export function parseInstant(text: string, flag: string): number {
  const at = Date.parse(text.trim());
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(text.trim())) throw new BatonError(`${flag} must be an ISO date-time such as 2026-12-24T08:00Z, got "${text}"`);
  return at;
}

/** An integer of at least 1 (`--limit 4`); the error names the flag. */
export function positiveInt(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new BatonError(`${flag} must be an integer >= 1, got "${raw}"`);
  return value;
}
