/** The run page's attempts and times (ui/src/run-times.ts): a retried run's duration without its idle gap, and the timeline's scale. */
import { describe, expect, it } from "vitest";
import { activeMs, attemptScale, attemptsOf, formatMs, relative } from "../../ui/src/run-times.ts";

const s = (type: string, timestamp: number) => ({ type, timestamp }) as never;

describe("a flow run's attempts", () => {
  // Pending at 0, Running 10–40, AwaitingRetry (idle) 40–1,000, Retrying 1,000–1,050, Completed.
  const retried = [s("PENDING", 0), s("RUNNING", 10), s("SCHEDULED", 40), s("RUNNING", 1000), s("COMPLETED", 1050)];

  it("are the stretches in a RUNNING-type state; the gap between is not counted", () => {
    expect(attemptsOf(retried)).toEqual([
      { start: 10, end: 40 },
      { start: 1000, end: 1050 },
    ]);
    expect(activeMs(attemptsOf(retried), 5000)).toBe(80);
  });

  it("count a running attempt up to now, and none for a run that never ran", () => {
    const running = [s("PENDING", 0), s("RUNNING", 100)];
    expect(attemptsOf(running)).toEqual([{ start: 100, end: null }]);
    expect(activeMs(attemptsOf(running), 350)).toBe(250);
    expect(attemptsOf([s("SCHEDULED", 0), s("PENDING", 5), s("CANCELLED", 9)])).toEqual([]);
    // Running then Retrying (both RUNNING) is one attempt of the flow run.
    expect(attemptsOf([s("RUNNING", 0), s("RUNNING", 5), s("FAILED", 9)])).toEqual([{ start: 0, end: 9 }]);
  });

  it("reads as short text", () => {
    expect([formatMs(850), formatMs(3200), formatMs(245_000), formatMs(7_380_000)]).toEqual(["850 ms", "3.2 s", "4 min 5 s", "2 h 3 min"]);
    // Never "0 min 60 s" or "1 h 60 min": rounded once.
    expect([formatMs(59_990), formatMs(119_700), formatMs(7_199_000)]).toEqual(["1 min 0 s", "2 min 0 s", "2 h 0 min"]);
    expect([relative(10_000, 0), relative(0, 3200)]).toEqual(["in 10.0 s", "3.2 s ago"]);
  });
});

describe("the timeline's scale over attempts", () => {
  it("gives each attempt a share of the width by its length and cuts the idle gap out", () => {
    const { segments, x } = attemptScale([{ start: 10, end: 40 }, { start: 1000, end: 1090 }], 10, 1090, 2000, 0.04);
    expect(segments.map((g) => [+g.left.toFixed(3), +g.width.toFixed(3)])).toEqual([
      [0, 0.24],
      [0.28, 0.72],
    ]);
    expect(x(10)).toBe(0);
    expect(x(40)).toBeCloseTo(0.24);
    expect(x(1000)).toBeCloseTo(0.28);
    expect(x(1090)).toBeCloseTo(1);
    // In the gap: a bar starting there starts at the next attempt, one ending there ends at the last.
    expect(x(500)).toBeCloseTo(0.28);
    expect(x(500, "end")).toBeCloseTo(0.24);
    expect(x(5000)).toBeCloseTo(1);
  });

  it("spans the given window in one piece when there is no attempt", () => {
    const { segments, x } = attemptScale([], 100, 300, 1000);
    expect(segments).toEqual([{ start: 100, end: 300, left: 0, width: 1 }]);
    expect(x(200)).toBeCloseTo(0.5);
  });

  it("runs a running attempt up to now, and starts it at the earliest task start", () => {
    const { segments, x } = attemptScale([{ start: 100, end: null }], 90, 150, 190);
    expect(segments[0]).toMatchObject({ start: 90, end: null, left: 0, width: 1 });
    expect(x(140)).toBeCloseTo(0.5);
  });
});
