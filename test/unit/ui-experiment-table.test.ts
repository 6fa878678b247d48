/** The Experiments page's table logic (ui/src/experiment-table.ts): sorting by a metric, the sort in the URL, parameters that differ. */
import { describe, expect, it } from "vitest";
import { columns, differingParams, formatSort, paramText, parseSort, sortRuns } from "../../ui/src/experiment-table.ts";
import { niceTicks } from "../../ui/src/axis-ticks.ts";
import type { ExperimentRunRecord } from "../../ui/src/types.ts";

const run = (runId: string, params: Record<string, unknown>, metrics: Record<string, number>) =>
  ({ runId, params, metrics: Object.fromEntries(Object.entries(metrics).map(([k, last]) => [k, { last, lastStep: 0, min: last, max: last, steps: 1 }])) }) as unknown as ExperimentRunRecord;

const a = run("a", { lr: 0.1, depth: 3, opt: "adam" }, { f1: 0.8 });
const b = run("b", { lr: 0.01, depth: 3, opt: "adam" }, { f1: 0.9, loss: 1 });
const c = run("c", { lr: 0.1, depth: 6, opt: "adam", layers: [64, 32] }, {});

describe("experiment table", () => {
  it("sorts by a metric's latest value both ways; runs without it come last, in their order", () => {
    expect(sortRuns([a, c, b], { metric: "f1", descending: false }).map((r) => r.runId)).toEqual(["a", "b", "c"]);
    expect(sortRuns([c, a, b], { metric: "f1", descending: true }).map((r) => r.runId)).toEqual(["b", "a", "c"]);
    expect(sortRuns([c, a, b], { metric: "loss", descending: true }).map((r) => r.runId)).toEqual(["b", "c", "a"]);
    expect(sortRuns([c, a, b], null).map((r) => r.runId)).toEqual(["c", "a", "b"]);
  });

  it("reads and writes the sort of the URL, a metric name with colons included", () => {
    expect(parseSort("f1:desc")).toEqual({ metric: "f1", descending: true });
    expect(parseSort("val:f1:asc")).toEqual({ metric: "val:f1", descending: false });
    expect(parseSort("f1")).toEqual({ metric: "f1", descending: false });
    expect(parseSort(null)).toBeNull();
    expect(formatSort({ metric: "val:f1", descending: true })).toBe("val:f1:desc");
  });

  it("finds the parameters that differ (a missing one differs) and the columns in first-seen order", () => {
    expect([...differingParams([a, b])]).toEqual(["lr"]);
    expect([...differingParams([a, c])].sort()).toEqual(["depth", "layers"]);
    expect([...differingParams([a])]).toEqual([]);
    expect(columns([a, c], "params")).toEqual(["lr", "depth", "opt", "layers"]);
    expect(columns([a, b], "metrics")).toEqual(["f1", "loss"]);
    expect([paramText("adam"), paramText([64, 32]), paramText(undefined), paramText(null)]).toEqual(["adam", "[64,32]", "–", "null"]);
  });
});

describe("metric chart axis", () => {
  it("takes round values, 1, 2 or 5 times a power of ten apart, covering the range", () => {
    expect(niceTicks(0.26, 1.6)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(niceTicks(0.8, 0.85)).toEqual([0.8, 0.82, 0.84, 0.86]);
    expect(niceTicks(0, 4)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(-3, 250)).toEqual([-100, 0, 100, 200, 300]);
    expect(niceTicks(0, 10_000)).toEqual([0, 5000, 10_000]);
  });
});
