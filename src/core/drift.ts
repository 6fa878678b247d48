/**
 * Drift statistics between a reference sample (what a model was trained on) and a current one
 * (what it now sees): the population stability index and the two-sample Kolmogorov–Smirnov test
 * for numeric features, Pearson's chi-square test of homogeneity for categorical ones. Pure
 * functions; `detectDrift` (sdk/drift.ts) applies them per feature and emits `model.drift`.
 */
import jstat from "jstat";

export interface PsiOptions {
  /** Quantile bins taken from the reference (default 10: deciles). */
  bins?: number;
  /** The smallest share a bin counts with, so that an empty bin does not make the index infinite (default 1e-4). */
  floor?: number;
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

export interface ChiSquareResult extends TestResult {
  degreesOfFreedom: number;
}

/** Throws a TypeError naming `what` unless `values` is a non-empty array of finite numbers. */
function finiteSample(values: readonly number[], what: string): void {
  if (!Array.isArray(values) || values.length === 0) throw new TypeError(`${what} must be a non-empty array of numbers`);
  const bad = values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) throw new TypeError(`${what}[${bad}] must be a finite number, got ${JSON.stringify(values[bad]) ?? String(values[bad])}`);
}

const ascending = (values: readonly number[]): number[] => Float64Array.from(values).sort() as unknown as number[];

/** The index of the first element of `sorted` greater than `x`. */
function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Population stability index: Σ (current% − reference%) · ln(current% / reference%) over bins
 * cut at the reference's quantiles. Read it as: < 0.1 stable, 0.1–0.25 a moderate shift,
 * > 0.25 a major one (the usual credit-scoring thresholds).
 */
export function populationStabilityIndex(reference: readonly number[], current: readonly number[], options: PsiOptions = {}): number {
  finiteSample(reference, "reference");
  finiteSample(current, "current");
  const bins = options.bins ?? 10;
  const floor = options.floor ?? 1e-4;
  if (!Number.isInteger(bins) || bins < 2) throw new TypeError(`options.bins must be a whole number ≥ 2, got ${String(bins)}`);
  if (typeof floor !== "number" || !(floor > 0 && floor < 1)) throw new TypeError(`options.floor must be a number between 0 and 1, got ${String(floor)}`);
  const ref = ascending(reference);
  // Cut points at the reference's quantiles; ties collapse bins (a feature with few distinct
  // values gets fewer, wider bins rather than empty ones).
  const cuts = [...new Set(Array.from({ length: bins - 1 }, (_, i) => jstat.percentile(ref, (i + 1) / bins)))];
  const shares = (sorted: number[]) => {
    const counts = new Array<number>(cuts.length + 1).fill(0);
    let from = 0;
    cuts.forEach((cut, i) => {
      const to = upperBound(sorted, cut);
      counts[i] = to - from;
      from = to;
    });
    counts[cuts.length] = sorted.length - from;
    return counts.map((c) => Math.max(c / sorted.length, floor));
  };
  const r = shares(ref);
  const c = shares(ascending(current));
  return r.reduce((sum, rs, i) => sum + (c[i]! - rs) * Math.log(c[i]! / rs), 0);
}

/** Kolmogorov's limiting distribution: P(K > λ) = 2 Σ (−1)^(j−1) e^(−2 j² λ²). */
function kolmogorovTail(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/**
 * Two-sample Kolmogorov–Smirnov test: D, the largest gap between the two empirical
 * distribution functions, and its asymptotic p-value (with Stephens' small-sample correction,
 * as in Numerical Recipes' `kstwo`). A small p-value: the samples come from different
 * distributions.
 */
export function ksTest(reference: readonly number[], current: readonly number[]): TestResult {
  finiteSample(reference, "reference");
  finiteSample(current, "current");
  const a = ascending(reference);
  const b = ascending(current);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  const en = Math.sqrt((a.length * b.length) / (a.length + b.length));
  return { statistic: d, pValue: kolmogorovTail((en + 0.12 + 0.11 / en) * d) };
}

/**
 * Pearson's chi-square test that two samples of categories share one distribution (a 2 × k
 * contingency table over the categories seen in either). Values compare as strings.
 */
export function chiSquareTest(reference: readonly unknown[], current: readonly unknown[]): ChiSquareResult {
  for (const [values, what] of [
    [reference, "reference"],
    [current, "current"],
  ] as const)
    if (!Array.isArray(values) || values.length === 0) throw new TypeError(`${what} must be a non-empty array of categories`);
  const count = (values: readonly unknown[]) => {
    const counts = new Map<string, number>();
    for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    return counts;
  };
  const r = count(reference);
  const c = count(current);
  const categories = [...new Set([...r.keys(), ...c.keys()])];
  const total = reference.length + current.length;
  let statistic = 0;
  for (const k of categories) {
    const column = (r.get(k) ?? 0) + (c.get(k) ?? 0);
    for (const [counts, n] of [
      [r, reference.length],
      [c, current.length],
    ] as const) {
      const expected = (n * column) / total;
      statistic += ((counts.get(k) ?? 0) - expected) ** 2 / expected;
    }
  }
  const degreesOfFreedom = categories.length - 1;
  if (degreesOfFreedom === 0) return { statistic: 0, pValue: 1, degreesOfFreedom };
  return { statistic, pValue: 1 - jstat.chisquare.cdf(statistic, degreesOfFreedom), degreesOfFreedom };
}
