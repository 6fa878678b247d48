/**
 * Schedule maths, pure: the slot times of a cron expression (with a time zone), a fixed
 * interval aligned to an anchor (epoch ms or an ISO date in specs given by people), or an
 * RFC 5545 RRULE.
 *
 * `nextSlots(spec, after, { until, limit })` returns slots strictly after `after`, up to and
 * including `until`, at most `limit`. Cron slots follow croner's DST handling: a wall time that
 * does not exist on the spring-forward day (02:30 in Europe/Berlin on 2026-03-29) fires at the
 * first instant after the gap (03:00 local); a wall time that happens twice on the fall-back day
 * fires once (the first occurrence). RRULE wall times are read in the schedule's time zone (an
 * RRULE without DTSTART starts 2000-01-01T00:00 local), converted to instants the same way.
 */
import { Cron } from "croner";
import rrulePkg from "rrule";
import { excerpt } from "./excerpt.ts";

const { rrulestr } = rrulePkg;

export type ScheduleSpec =
  | { kind: "cron"; cron: string; timezone?: string }
  | { kind: "interval"; intervalMs: number; /** slots fall on anchor + k × intervalMs (epoch ms) */ anchor?: number }
  | { kind: "rrule"; rrule: string; timezone?: string };

const KINDS = ["cron", "interval", "rrule"];

function fail(message: string): never {
  throw new TypeError(`schedule.${message}`);
}

function checkTimezone(tz: unknown): string {
  if (tz === undefined || tz === null) return "UTC";
  if (typeof tz !== "string") fail(`timezone must be a string, got ${typeof tz}`);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    fail(`timezone "${excerpt(tz)}" is not a known IANA time zone`);
  }
  return tz;
}

/** Validates a spec; throws a TypeError naming the field and the problem. Returns a normalised copy. */
export function compileSchedule(spec: unknown): ScheduleSpec {
  if (!spec || typeof spec !== "object") throw new TypeError("schedule must be an object with a kind (cron, interval or rrule)");
  const s = spec as Record<string, unknown>;
  switch (s.kind) {
    case "cron": {
      if (typeof s.cron !== "string" || !s.cron.trim()) fail("cron must be a cron expression such as \"0 9 * * 1-5\"");
      const timezone = checkTimezone(s.timezone);
      try {
        new Cron(s.cron, { timezone, paused: true }).nextRun(new Date(0));
      } catch (error) {
        fail(`cron "${excerpt(s.cron)}" is invalid: ${excerpt((error as Error).message)}`);
      }
      return { kind: "cron", cron: s.cron.trim(), timezone };
    }
    case "interval": {
      if (typeof s.intervalMs !== "number" || !Number.isInteger(s.intervalMs) || s.intervalMs < 1000) fail(`intervalMs must be an integer >= 1000, got ${excerpt(String(s.intervalMs))}`);
      return { kind: "interval", intervalMs: s.intervalMs, anchor: anchorMs(s.anchor) };
    }
    case "rrule": {
      if (typeof s.rrule !== "string" || !s.rrule.trim()) fail("rrule must be an RRULE such as \"FREQ=DAILY;BYHOUR=9\"");
      const timezone = checkTimezone(s.timezone);
      try {
        parseRrule(s.rrule);
      } catch (error) {
        fail(`rrule "${excerpt(s.rrule)}" is invalid: ${excerpt((error as Error).message)}`);
      }
      return { kind: "rrule", rrule: s.rrule.trim(), timezone };
    }
    default:
      fail(`kind must be one of ${KINDS.join(", ")}, got ${excerpt(String(JSON.stringify(s.kind)))}`);
  }
}

/** An interval's anchor: epoch ms, an ISO 8601 date (with its offset) or a Date; default the epoch. */
function anchorMs(anchor: unknown): number {
  if (anchor === undefined || anchor === null) return 0;
  if (typeof anchor === "number" && Number.isFinite(anchor)) return anchor;
  if (anchor instanceof Date && Number.isFinite(anchor.getTime())) return anchor.getTime();
  if (typeof anchor === "string" && /^\d{4}-\d\d-\d\d/.test(anchor) && Number.isFinite(Date.parse(anchor))) return Date.parse(anchor);
  fail(`anchor must be epoch milliseconds or an ISO 8601 date such as "2026-01-01T09:30:00+01:00", got ${excerpt(String(JSON.stringify(anchor)))}`);
}

function parseRrule(text: string) {
  const body = /DTSTART/i.test(text) ? text : `DTSTART:20000101T000000Z\n${/^RRULE:/i.test(text) ? text : `RRULE:${text}`}`;
  return rrulestr(body);
}

/** Offset of `tz` from UTC at `instant`, in ms (positive east of Greenwich). */
function offsetAt(tz: string, instant: number): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant at which the wall time `wall` (its UTC fields read as local time in `tz`) occurs. */
function wallToInstant(wall: number, tz: string): number {
  if (tz === "UTC") return wall;
  const first = wall - offsetAt(tz, wall);
  return wall - offsetAt(tz, first);
}

/** Slot times strictly after `after`, up to and including `until`, at most `limit`. */
export function nextSlots(spec: ScheduleSpec, after: number, options: { until: number; limit: number }): number[] {
  const out: number[] = [];
  const { until, limit } = options;
  if (limit <= 0 || until <= after) return out;
  if (spec.kind === "interval") {
    const anchor = spec.anchor ?? 0;
    let slot = after < anchor ? anchor : anchor + (Math.floor((after - anchor) / spec.intervalMs) + 1) * spec.intervalMs;
    for (; slot <= until && out.length < limit; slot += spec.intervalMs) out.push(slot);
    return out;
  }
  if (spec.kind === "cron") {
    const cron = new Cron(spec.cron, { timezone: spec.timezone ?? "UTC", paused: true });
    let cursor: Date | null = new Date(after);
    while (out.length < limit) {
      cursor = cron.nextRun(cursor);
      if (!cursor || cursor.getTime() > until) break;
      if (cursor.getTime() > after && cursor.getTime() !== out[out.length - 1]) out.push(cursor.getTime());
    }
    return out;
  }
  const tz = spec.timezone ?? "UTC";
  const rule = parseRrule(spec.rrule);
  // rrule computes in "floating" wall time (UTC fields); widen the window by a day for offsets.
  const wallAfter = after + offsetAt(tz, after) - 86_400_000;
  const wallUntil = until + offsetAt(tz, until) + 86_400_000;
  for (const wall of rule.between(new Date(wallAfter), new Date(wallUntil), true)) {
    const instant = wallToInstant(wall.getTime(), tz);
    if (instant > after && instant <= until && instant !== out[out.length - 1]) out.push(instant);
    if (out.length >= limit) break;
  }
  return out;
}

/** A human description, e.g. "cron 0 9 * * 1-5 (Europe/Berlin)", "every 15 min". */
export function describeSchedule(spec: ScheduleSpec): string {
  if (spec.kind === "cron") return `cron ${spec.cron} (${spec.timezone ?? "UTC"})`;
  if (spec.kind === "rrule") return `rrule ${spec.rrule} (${spec.timezone ?? "UTC"})`;
  const ms = spec.intervalMs;
  const every = ms % 3600_000 === 0 ? `${ms / 3600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
  return `every ${every}${spec.anchor ? ` from ${new Date(spec.anchor).toISOString()}` : ""}`;
}
