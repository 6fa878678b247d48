/** The estimated cost of a run: each price on its own, together, and what a pool without prices charges. */
import { describe, expect, it } from "vitest";
import { estimateRunCost, hasPrices, type PoolPrices } from "../../src/core/cost.ts";
import { addAttempt } from "../../src/core/resources.ts";

const NONE: PoolPrices = { costPerHour: null, costPerCpuHour: null, costPerGpuHour: null, gpus: null, currency: null };
const HOUR = 3_600_000;

describe("estimateRunCost", () => {
  it("charges wall hours at costPerHour", () => {
    expect(estimateRunCost({ wallMs: HOUR / 2, cpuMs: HOUR }, { ...NONE, costPerHour: 3, currency: "USD" })).toBeCloseTo(1.5, 12);
  });

  it("charges CPU hours at costPerCpuHour", () => {
    expect(estimateRunCost({ wallMs: HOUR, cpuMs: 90 * 60_000 }, { ...NONE, costPerCpuHour: 0.2 })).toBeCloseTo(0.3, 12);
  });

  it("charges wall hours × gpus at costPerGpuHour, and nothing for GPUs a pool does not give", () => {
    expect(estimateRunCost({ wallMs: 2 * HOUR, cpuMs: 0 }, { ...NONE, costPerGpuHour: 2.5, gpus: 4 })).toBeCloseTo(20, 12);
    expect(estimateRunCost({ wallMs: 2 * HOUR, cpuMs: 0 }, { ...NONE, costPerGpuHour: 2.5 })).toBe(0);
  });

  it("adds the three", () => {
    const prices: PoolPrices = { costPerHour: 1, costPerCpuHour: 0.5, costPerGpuHour: 3, gpus: 2, currency: "EUR" };
    // 0.25 h × 1 + 0.1 h × 0.5 + 0.25 h × 2 × 3
    expect(estimateRunCost({ wallMs: HOUR / 4, cpuMs: HOUR / 10 }, prices)).toBeCloseTo(0.25 + 0.05 + 1.5, 12);
  });

  it("is 0 for a pool without prices and for negative measures", () => {
    expect(estimateRunCost({ wallMs: HOUR, cpuMs: HOUR }, NONE)).toBe(0);
    expect(hasPrices(NONE)).toBe(false);
    expect(hasPrices({ ...NONE, costPerCpuHour: 0 })).toBe(true);
    expect(estimateRunCost({ wallMs: -HOUR, cpuMs: -1 }, { ...NONE, costPerHour: 5, costPerCpuHour: 5 })).toBe(0);
  });
});

describe("addAttempt", () => {
  it("sums attempts, keeps the highest peak and counts retried attempts apart", () => {
    const first = addAttempt(null, { wallMs: 100, cpuUserMs: 80, cpuSystemMs: 10, peakMemoryBytes: 500 }, true);
    const both = addAttempt(first, { wallMs: 50, cpuUserMs: 40, cpuSystemMs: null, peakMemoryBytes: 300 }, false);
    expect(both).toEqual({ wallMs: 150, cpuUserMs: 120, cpuSystemMs: 10, peakMemoryBytes: 500, retriedWallMs: 100, retriedCpuMs: 90 });
  });
});
