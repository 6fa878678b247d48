/** The parts of jStat (which ships no types) that Baton uses. */
declare module "jstat" {
  const jStat: {
    /** The k-th quantile (0–1) of `values`, interpolated linearly between order statistics. */
    percentile(values: ArrayLike<number>, k: number, exclusive?: boolean): number;
    chisquare: { cdf(x: number, degreesOfFreedom: number): number };
  };
  export default jStat;
}
