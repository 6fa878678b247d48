/**
 * Drift statistics: hand-checkable cases, the real shifted data the ML example uses (Seattle
 * weather 2012 against 2015, from vega-datasets), and TypeErrors that name the bad input.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chiSquareTest, ksTest, populationStabilityIndex } from "../../src/core/drift.ts";

const csv = path.join(path.dirname(createRequire(import.meta.url).resolve("vega-datasets")), "../data/seattle-weather.csv");
const rows = fs.readFileSync(csv, "utf8").trim().split("\n").slice(1).map((line) => line.split(","));
const year = (y: string, column: number) => rows.filter((r) => r[0]!.startsWith(y)).map((r) => Number(r[column]));

describe("population stability index", () => {
  it("is 0 for the same sample and grows with the shift", () => {
    const base = Array.from({ length: 1000 }, (_, i) => i / 10);
    expect(populationStabilityIndex(base, base)).toBeCloseTo(0, 12);
    const small = populationStabilityIndex(base, base.map((x) => x + 5));
    const large = populationStabilityIndex(base, base.map((x) => x + 30));
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
  });

  it("matches the formula on two bins cut at the reference's median", () => {
    // Reference split 50/50 at its median (2.5); current puts 80% below: (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5).
    const expected = 0.3 * Math.log(1.6) + -0.3 * Math.log(0.4);
    expect(populationStabilityIndex([1, 2, 3, 4], [1, 1, 1, 1, 2, 2, 2, 2, 4, 4], { bins: 2 })).toBeCloseTo(expected, 10);
  });

  it("finds Seattle's 2015 daily maxima drifted from 2012's (ten quantile bins: 0.225)", () => {
    expect(populationStabilityIndex(year("2012", 2), year("2015", 2))).toBeCloseTo(0.225, 3);
    expect(populationStabilityIndex(year("2012", 1), year("2015", 1))).toBeLessThan(0.1); // precipitation: stable
  });

  it("names the bad argument", () => {
    expect(() => populationStabilityIndex([], [1])).toThrow("reference must be a non-empty array of numbers");
    expect(() => populationStabilityIndex([1, Number.NaN], [1])).toThrow("reference[1] must be a finite number");
    expect(() => populationStabilityIndex([1], ["2" as unknown as number])).toThrow('current[0] must be a finite number, got "2"');
    expect(() => populationStabilityIndex([1, 2], [1], { bins: 1 })).toThrow("options.bins must be a whole number ≥ 2");
  });
});

describe("two-sample Kolmogorov–Smirnov", () => {
  it("D is the largest gap between the empirical distributions, ties stepped together", () => {
    expect(ksTest([1, 2, 3], [1, 2, 3])).toEqual({ statistic: 0, pValue: 1 });
    expect(ksTest([1, 2, 3, 4], [3, 4, 5, 6]).statistic).toBeCloseTo(0.5, 12);
    expect(ksTest([1, 2], [3, 4]).statistic).toBe(1);
  });

  it("Seattle's 2015 maxima against 2012's: D = 0.153, p ≈ 3.4e-4; wind does not drift at 1%", () => {
    const maxima = ksTest(year("2012", 2), year("2015", 2));
    expect(maxima.statistic).toBeCloseTo(0.1525, 3);
    expect(maxima.pValue).toBeGreaterThan(2e-4);
    expect(maxima.pValue).toBeLessThan(5e-4);
    expect(ksTest(year("2012", 4), year("2015", 4)).pValue).toBeGreaterThan(0.01);
  });
});

describe("chi-square test of homogeneity", () => {
  it("a 2 × 2 table: statistic 4, one degree of freedom, p ≈ 0.0455", () => {
    const ref = [...Array(30).fill("a"), ...Array(20).fill("b")];
    const cur = [...Array(20).fill("a"), ...Array(30).fill("b")];
    const result = chiSquareTest(ref, cur);
    expect(result.statistic).toBeCloseTo(4, 10);
    expect(result.degreesOfFreedom).toBe(1);
    expect(result.pValue).toBeCloseTo(0.0455, 4);
  });

  it("one category everywhere is no evidence of drift; empty input is an error", () => {
    expect(chiSquareTest(["x", "x"], ["x"])).toEqual({ statistic: 0, pValue: 1, degreesOfFreedom: 0 });
    expect(() => chiSquareTest([], ["x"])).toThrow("reference must be a non-empty array of categories");
  });
});
