/** The engine benchmark's flows: a fan-out of trivial tasks, a chain of them, and an empty flow. */
import { flow, task } from "../src/index.ts";

export const noop = task(async function benchNoop(i: number) {
  return i;
});

export const mapped = flow(async function benchMapped(p: { n: number }) {
  const values = await Promise.all(noop.map([...Array(p.n).keys()]));
  return values.length;
});

export const sequential = flow(async function benchSequential(p: { n: number }) {
  let x = 0;
  for (let i = 0; i < p.n; i++) x = await noop(x + 1);
  return x;
});

export const empty = flow(async function benchEmpty() {
  return 1;
});

export async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
