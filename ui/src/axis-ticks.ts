/** Axis values for the dashboard's charts; pure, so unit tests import it under Node. */

/** Round axis values covering `lo`..`hi`, 1, 2 or 5 times a power of ten apart (two to five steps). */
export function niceTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? magnitude * 10;
  const first = Math.floor(lo / step);
  const count = Math.ceil(hi / step) - first;
  // toPrecision drops the float noise of multiplying (0.30000000000000004).
  return Array.from({ length: count + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)));
}
