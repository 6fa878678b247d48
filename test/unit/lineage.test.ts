/** Lineage of values passed on directly between tasks (engine/lineage.ts): objects by identity, distinctive primitives by value. */
import { describe, expect, it } from "vitest";
import { ValueLineage } from "../../src/engine/lineage.ts";

describe("value lineage", () => {
  it("traces a returned object, and the values inside it two levels down", () => {
    const lineage = new ValueLineage();
    const split = { train: [{ x: 1 }], test: [{ x: 2 }], meta: { source: { file: { path: "a.csv" } } } };
    lineage.note(split, "split");
    expect(lineage.producersOf([split])).toEqual(["split"]);
    expect(lineage.producersOf([split.train])).toEqual(["split"]);
    expect(lineage.producersOf([split.meta.source])).toEqual(["split"]);
    // Three levels down is not traced (a result's deep insides cost a walk per result).
    expect(lineage.producersOf([split.meta.source.file])).toEqual([]);
    expect(lineage.producersOf([{ x: 1 }])).toEqual([]);
  });

  it("finds producers inside the arguments: arrays and plain objects built by the flow", () => {
    const lineage = new ValueLineage();
    const a = { rows: [1] };
    const b = { rows: [2] };
    lineage.note(a, "load-0");
    lineage.note(b, "load-1");
    expect(lineage.producersOf([[a, b]]).sort()).toEqual(["load-0", "load-1"]);
    expect(lineage.producersOf([{ left: a, nested: { right: b } }]).sort()).toEqual(["load-0", "load-1"]);
    expect(lineage.producersOf([1, "x", null, undefined])).toEqual([]);
  });

  it("keeps the producer of a value passed through inside a later result", () => {
    const lineage = new ValueLineage();
    const rows = { n: 1 };
    lineage.note(rows, "load");
    lineage.note({ rows, extra: { n: 2 } }, "wrap");
    expect(lineage.producersOf([rows])).toEqual(["load"]);
  });

  it("traces distinctive primitives by value: long strings, numbers that are not small integers", () => {
    const lineage = new ValueLineage();
    lineage.note("/tmp/models/forest-7.json", "save");
    lineage.note(0.8342, "score");
    lineage.note(1461, "count");
    lineage.note(12, "small");
    lineage.note("short", "short");
    lineage.note(true, "flag");
    expect(lineage.producersOf(["/tmp/models/forest-7.json"])).toEqual(["save"]);
    expect(lineage.producersOf([{ threshold: 0.8342 }])).toEqual(["score"]);
    expect(lineage.producersOf([1461])).toEqual(["count"]);
    expect(lineage.producersOf([12, "short", true])).toEqual([]);
  });

  it("traces a primitive two task runs returned to neither", () => {
    const lineage = new ValueLineage();
    lineage.note("value of key", "lookup-0");
    lineage.note("value of key", "lookup-0");
    expect(lineage.producersOf(["value of key"])).toEqual(["lookup-0"]);
    lineage.note("value of key", "lookup-1");
    expect(lineage.producersOf(["value of key"])).toEqual([]);
  });

  it("looks at a bounded number of values in a huge result or argument", () => {
    const lineage = new ValueLineage();
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    lineage.note(rows, "load");
    expect(lineage.producersOf([rows[5]])).toEqual(["load"]);
    expect(lineage.producersOf([rows[99_999]])).toEqual([]);
    expect(lineage.producersOf([rows.slice(50_000)])).toEqual([]);
  });
});
