import { describe, expect, it } from "vitest";
import { Fifo } from "../../src/engine/fifo.ts";

describe("Fifo", () => {
  it("gives items back in order across the compaction of its consumed prefix", () => {
    const queue = new Fifo<number>();
    let next = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3_000; i++) queue.push(round * 3_000 + i);
      for (let i = 0; i < 2_000; i++) expect(queue.shift()).toBe(next++);
    }
    expect(queue.length).toBe(5_000);
    while (queue.length > 0) expect(queue.shift()).toBe(next++);
    expect(queue.shift()).toBeUndefined();
    expect(next).toBe(15_000);
  });
});
