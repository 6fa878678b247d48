/**
 * The pure parts of the event log's readers: name patterns (what the API, the CLI and the stream
 * accept), the filter the stream applies (the same rules as the store's query), the stream's
 * resume tokens (only what the server makes is taken back), the CLI's --since, the defaults of
 * an event from outside and the names users may not emit.
 */
import { describe, expect, it } from "vitest";
import { eventPassesFilter, parseEventPatterns } from "../../src/core/event-filter.ts";
import { completeEvent, userEventNameProblem } from "../../src/core/event-input.ts";
import type { EventRecord } from "../../src/core/event-records.ts";
import { formatResumeToken, parseResumeToken } from "../../src/server/event-resume-token.ts";
import { parseSince } from "../../src/cli/commands/events.ts";

const record = (fields: Partial<EventRecord> = {}): EventRecord => ({
  seq: 1,
  id: "e1",
  occurred: 1000,
  received: 1000,
  event: "baton.flow-run.Failed",
  resource: { id: "run-1" },
  related: [{ role: "flow", id: "flow-1" }],
  payload: {},
  ...fields,
});

describe("event patterns", () => {
  it("takes names, prefixes ending in * and * alone; names the field and the pattern otherwise", () => {
    expect(parseEventPatterns(" baton.flow-run.* , data.arrived,*,baton.flow-run.Fail*", "event")).toEqual(["baton.flow-run.*", "data.arrived", "*", "baton.flow-run.Fail*"]);
    for (const bad of ["a..b", "a*b", "**", ".a", "a b", "a.*.b"]) expect(() => parseEventPatterns(bad, "--event"), bad).toThrow(`--event: "${bad}" is not an event pattern`);
  });

  it("filters as the store's query does: any pattern, resource, related in any role, involved either way, time window", () => {
    const e = record();
    expect(eventPassesFilter({}, e)).toBe(true);
    expect(eventPassesFilter({ event: ["data.*", "baton.flow-run.*"] }, e)).toBe(true);
    expect(eventPassesFilter({ event: ["baton.task-run.*"] }, e)).toBe(false);
    expect(eventPassesFilter({ resource: "run-1" }, e)).toBe(true);
    expect(eventPassesFilter({ resource: "flow-1" }, e)).toBe(false);
    expect(eventPassesFilter({ related: "flow-1" }, e)).toBe(true);
    expect(eventPassesFilter({ related: "run-1" }, e)).toBe(false);
    expect(eventPassesFilter({ involves: "run-1" }, e) && eventPassesFilter({ involves: "flow-1" }, e)).toBe(true);
    expect(eventPassesFilter({ involves: "other" }, e)).toBe(false);
    expect(eventPassesFilter({ since: 1000, until: 1001 }, e)).toBe(true);
    expect(eventPassesFilter({ until: 1000 }, e)).toBe(false);
    expect(eventPassesFilter({ since: 1001 }, e)).toBe(false);
  });
});

describe("resume tokens", () => {
  it("round-trip the cursor and the awaited seqs", () => {
    for (const position of [{ seq: 0 }, { seq: 42 }, { seq: 90, pending: [{ from: 3, to: 3, xmax: "123456789012", seenAt: 1_700_000_000_000 }, { from: 80, to: 85, xmax: "9", seenAt: 5 }] }])
      expect(parseResumeToken(formatResumeToken(position))).toEqual(position);
  });

  it("refuses anything the server did not make: the live feed's ids, garbage, gaps that cannot be", () => {
    const forged = (value: unknown) => `e1.${Buffer.from(JSON.stringify(value)).toString("base64url")}`;
    for (const token of ["12.40", "e1.", "e1.!!", forged({ seq: 1 }), forged([-1]), forged([1.5]), forged([5, [[6, 7, "1", 0]]]), forged([9, [[4, 3, "1", 0]]]), forged([9, [[1, 2, "x", 0]]]), forged([9, [[1, 2, "1"]]]), `e1.${"A".repeat(9000)}`])
      expect(parseResumeToken(token), token.slice(0, 40)).toBeNull();
  });
});

describe("events from outside a run", () => {
  it("get a new id, now, no related resources and an empty payload unless given", () => {
    const e = completeEvent({ event: "a.b", resource: { id: "r" } }, 77);
    expect(e).toMatchObject({ occurred: 77, related: [], payload: {} });
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(completeEvent({ id: "given", occurred: 5, event: "a.b", resource: { id: "r" }, payload: { x: 1 } }, 77)).toMatchObject({ id: "given", occurred: 5, payload: { x: 1 } });
  });

  it("may not use Baton's own names, nor names that are not dotted words", () => {
    expect(userEventNameProblem("data.arrived", "event")).toBeNull();
    expect(userEventNameProblem("baton.flow-run.Completed", "body[0].event")).toMatch(/^body\[0\]\.event: names under "baton\." are Baton's own/);
    expect(userEventNameProblem("batonic.thing", "event")).toBeNull();
    expect(userEventNameProblem("no spaces", "event")).toMatch(/^event must be a dotted name/);
    expect(userEventNameProblem(7, "event")).toMatch(/got 7/);
  });
});

describe("--since", () => {
  it("takes a duration ago or an ISO date, and names the flag otherwise", () => {
    const now = 10 * 86_400_000;
    expect(parseSince("90s", now)).toBe(now - 90_000);
    expect(parseSince("1.5h", now)).toBe(now - 5_400_000);
    expect(parseSince("7d", now)).toBe(now - 7 * 86_400_000);
    expect(parseSince("2026-12-01T08:00:00Z", now)).toBe(Date.parse("2026-12-01T08:00:00Z"));
    for (const bad of ["1 hour", "yesterday", "15", "-1h"]) expect(() => parseSince(bad, now), bad).toThrow(/--since must be a duration ago/);
  });
});
