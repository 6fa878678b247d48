/** Schedule maths: cron with time zones across DST, intervals aligned to an anchor, RRULEs. */
import { describe, expect, it } from "vitest";
import { compileSchedule, describeSchedule, nextSlots, type ScheduleSpec } from "../../src/core/schedule.ts";
import { schedulesFrom } from "../../src/sdk/serve.ts";

const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());
const at = (text: string) => Date.parse(text);
const DAY = 86_400_000;

describe("cron", () => {
  const berlin = (cron: string) => compileSchedule({ kind: "cron", cron, timezone: "Europe/Berlin" });

  it("fires at local wall time in its time zone, across DST", () => {
    const ny = compileSchedule({ kind: "cron", cron: "0 9 * * *", timezone: "America/New_York" });
    // 2026-03-08: New York moves from EST (UTC-5) to EDT (UTC-4): 09:00 local is 14:00Z, then 13:00Z.
    expect(iso(nextSlots(ny, at("2026-03-06T00:00:00Z"), { until: at("2026-03-10T00:00:00Z"), limit: 10 }))).toEqual([
      "2026-03-06T14:00:00.000Z",
      "2026-03-07T14:00:00.000Z",
      "2026-03-08T13:00:00.000Z",
      "2026-03-09T13:00:00.000Z",
    ]);
  });

  it("fires once for a wall time that happens twice (fall back) and after the gap for one that does not exist (spring forward)", () => {
    const fallBack = nextSlots(berlin("30 2 * * *"), at("2026-10-24T12:00:00Z"), { until: at("2026-10-26T12:00:00Z"), limit: 10 });
    expect(iso(fallBack)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
    const springForward = nextSlots(berlin("30 2 * * *"), at("2026-03-28T12:00:00Z"), { until: at("2026-03-30T12:00:00Z"), limit: 10 });
    expect(iso(springForward)).toEqual(["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
  });

  it("gives strictly increasing, unique hourly slots through both DST changes", () => {
    for (const day of ["2026-03-29", "2026-10-25"]) {
      const slots = nextSlots(berlin("0 * * * *"), at(`${day}T00:00:00Z`) - DAY / 2, { until: at(`${day}T00:00:00Z`) + DAY, limit: 100 });
      expect(slots.length).toBeGreaterThanOrEqual(35);
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(3_600_000);
    }
  });

  it("excludes the `after` instant and honours until and limit", () => {
    const everyMinute = compileSchedule({ kind: "cron", cron: "* * * * *" });
    const start = at("2026-01-01T00:00:00Z");
    expect(nextSlots(everyMinute, start, { until: start + 5 * 60_000, limit: 100 })).toHaveLength(5);
    expect(nextSlots(everyMinute, start, { until: start + 5 * 60_000, limit: 2 })).toEqual([start + 60_000, start + 120_000]);
  });
});

describe("interval", () => {
  it("aligns slots to the anchor, not to the caller's clock", () => {
    const every15 = compileSchedule({ kind: "interval", intervalMs: 15 * 60_000 });
    expect(iso(nextSlots(every15, at("2026-01-01T10:07:00Z"), { until: at("2026-01-01T10:50:00Z"), limit: 10 }))).toEqual([
      "2026-01-01T10:15:00.000Z",
      "2026-01-01T10:30:00.000Z",
      "2026-01-01T10:45:00.000Z",
    ]);
    expect(nextSlots(every15, at("2026-01-01T10:15:00Z"), { until: at("2026-01-01T10:30:00Z"), limit: 10 })).toEqual([at("2026-01-01T10:30:00Z")]);
    const future = compileSchedule({ kind: "interval", intervalMs: 60_000, anchor: at("2026-06-01T00:00:30Z") });
    expect(nextSlots(future, at("2026-01-01T00:00:00Z"), { until: at("2026-06-01T00:01:30Z"), limit: 10 })).toEqual([at("2026-06-01T00:00:30Z"), at("2026-06-01T00:01:30Z")]);
  });
});

describe("interval anchors given by people", () => {
  it("takes an ISO date (with its offset) or a Date, and serve()/baton.yaml pass it through", () => {
    const iso = compileSchedule({ kind: "interval", intervalMs: 3600_000, anchor: "2026-01-01T00:30:00+01:00" });
    expect(iso).toEqual({ kind: "interval", intervalMs: 3600_000, anchor: at("2025-12-31T23:30:00Z") });
    expect(nextSlots(iso, at("2026-03-01T10:00:00Z"), { until: at("2026-03-01T12:00:00Z"), limit: 5 })).toEqual([at("2026-03-01T10:30:00Z"), at("2026-03-01T11:30:00Z")]);
    expect(compileSchedule({ kind: "interval", intervalMs: 60_000, anchor: new Date(90_000) })).toMatchObject({ anchor: 90_000 });
    const [fromServe] = schedulesFrom({ interval: 900_000, anchor: "2026-01-01T00:05:00Z" });
    expect(fromServe!.spec).toEqual({ kind: "interval", intervalMs: 900_000, anchor: at("2026-01-01T00:05:00Z") });
    expect(describeSchedule(fromServe!.spec as unknown as ScheduleSpec)).toBe("every 15 min from 2026-01-01T00:05:00.000Z");
  });

  it.each([
    ["tomorrow", /schedule\.anchor must be epoch milliseconds or an ISO 8601 date/],
    [{}, /schedule\.anchor must be epoch milliseconds/],
  ])("rejects the anchor %j", (anchor, message) => {
    expect(() => compileSchedule({ kind: "interval", intervalMs: 60_000, anchor })).toThrow(message);
  });

  it("refuses an anchor without an interval", () => {
    expect(() => schedulesFrom({ cron: "* * * * *", anchor: 0 })).toThrow(/anchor applies to an interval/);
  });
});

describe("rrule", () => {
  it("reads wall times in the schedule's time zone", () => {
    const daily9 = compileSchedule({ kind: "rrule", rrule: "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0", timezone: "Europe/Berlin" });
    expect(iso(nextSlots(daily9, at("2026-03-27T12:00:00Z"), { until: at("2026-03-31T00:00:00Z"), limit: 10 }))).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
    ]);
    const utc = compileSchedule({ kind: "rrule", rrule: "RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=6;BYMINUTE=0;BYSECOND=0" });
    expect(iso(nextSlots(utc, at("2026-11-24T00:00:00Z"), { until: at("2026-12-10T00:00:00Z"), limit: 10 }))).toEqual([
      "2026-11-30T06:00:00.000Z",
      "2026-12-07T06:00:00.000Z",
    ]);
  });
});

describe("validation", () => {
  it.each([
    [{ kind: "cron", cron: "61 * * * *" }, /schedule\.cron "61 \* \* \* \*" is invalid/],
    [{ kind: "cron", cron: "* * * * *", timezone: "Mars/Base" }, /schedule\.timezone "Mars\/Base" is not a known IANA time zone/],
    [{ kind: "interval", intervalMs: 10 }, /schedule\.intervalMs must be an integer >= 1000/],
    [{ kind: "rrule", rrule: "FREQ=SOMETIMES" }, /schedule\.rrule "FREQ=SOMETIMES" is invalid/],
    [{ kind: "hourly" }, /schedule\.kind must be one of cron, interval, rrule/],
    [null, /schedule must be an object/],
  ])("rejects %j", (spec, message) => {
    expect(() => compileSchedule(spec)).toThrow(TypeError);
    expect(() => compileSchedule(spec)).toThrow(message);
  });

  it("describes schedules for people", () => {
    expect(describeSchedule({ kind: "cron", cron: "0 9 * * 1-5", timezone: "Europe/Berlin" })).toBe("cron 0 9 * * 1-5 (Europe/Berlin)");
    expect(describeSchedule({ kind: "interval", intervalMs: 900_000 } as ScheduleSpec)).toBe("every 15 min");
  });
});
