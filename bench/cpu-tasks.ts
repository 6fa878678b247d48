/** CPU-bound work for the thread-runner benchmark (imported again inside worker threads). */
import { task } from "../src/index.ts";

function burn(rounds: number): number {
  let x = 0;
  for (let i = 0; i < rounds; i++) x = (x + Math.sqrt(i * 1.000001) * Math.sin(i)) % 1e9;
  return x;
}

export const burnAsync = task(async function burnAsync(rounds: number) {
  return burn(rounds);
});

export const burnThreads = task(
  async function burnThreads(rounds: number) {
    return burn(rounds);
  },
  { runner: "threads" },
);
