/**
 * The write batcher is shared by every flow run of a process: a write that fails must fail only
 * itself and the flow run it belongs to, never the writes of other flow runs batched with it.
 */
import { describe, expect, it } from "vitest";
import { DatabaseUnreachableError } from "../../src/core/errors.ts";
import { WriteBatcher } from "../../src/engine/write-batcher.ts";
import type { WriteOp } from "../../src/store/types.ts";

const log = (flowRunId: string, message: string): WriteOp => ({ kind: "log", log: { flowRunId, taskRunId: null, level: 30, message, timestamp: 1 } });

/** A store that refuses any transaction holding a log line containing "poison". */
function fakeStore() {
  const committed: string[] = [];
  let transactions = 0;
  return {
    committed,
    get transactions() {
      return transactions;
    },
    async applyWrites(ops: readonly WriteOp[]): Promise<boolean> {
      transactions++;
      await new Promise((r) => setImmediate(r));
      if (ops.some((op) => op.kind === "log" && op.log.message.includes("poison"))) throw new Error("refused: poison");
      for (const op of ops) if (op.kind === "log") committed.push(op.log.message);
      return true;
    },
  };
}

describe("WriteBatcher failure scoping", () => {
  it("rejects only the failing write of a shared batch; the others commit, in order", async () => {
    const store = fakeStore();
    const batcher = new WriteBatcher(store);
    const writes = ["a1", "b1", "poison-a", "b2", "c1", "a2"].map((m) => batcher.write([log(m.startsWith("b") ? "B" : "A", m)]));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
    expect(store.committed).toEqual(["a1", "b1", "b2", "c1", "a2"]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
  });

  it("a waiter whose callback throws is reported as uncaught; its batch is committed once and the other waiters are told", async () => {
    const store = fakeStore();
    const batcher = new WriteBatcher(store);
    const uncaught: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => original(() => {
      try {
        fn();
      } catch (error) {
        uncaught.push(error);
      }
    });
    try {
      const told: string[] = [];
      batcher.enqueue([log("A", "a1")], () => {
        throw new Error("bug in a waiter");
      });
      batcher.enqueue([log("B", "b1")], (error) => told.push(error ? "failed" : "committed"));
      await batcher.drain();
      await new Promise((r) => setImmediate(r));
      expect(store.committed).toEqual(["a1", "b1"]);
      expect(store.transactions).toBe(1);
      expect(told).toEqual(["committed"]);
      expect(uncaught).toEqual([new Error("bug in a waiter")]);
    } finally {
      globalThis.queueMicrotask = original;
    }
  });

  it("reports a failed background write at the drain of its own flow run only", async () => {
    const store = fakeStore();
    const batcher = new WriteBatcher(store);
    batcher.post([log("A", "poison")]);
    batcher.post([log("B", "fine")]);
    const b = batcher.write([log("B", "awaited")]);
    await expect(b).resolves.toBeUndefined();
    await expect(batcher.drain("B")).resolves.toBeUndefined();
    await expect(batcher.drain()).resolves.toBeUndefined();
    await expect(batcher.drain("A")).rejects.toThrow(/poison/);
    // Reported once.
    await expect(batcher.drain("A")).resolves.toBeUndefined();
    expect(store.committed).toEqual(["fine", "awaited"]);
  });

  it("rejects every writer of a batch the store gave up on for an outage, without trying halves", async () => {
    // The halves would get new batch ids: were the database back by then, ops the lost attempt
    // may have committed would be applied again.
    let attempts = 0;
    const batcher = new WriteBatcher({
      async applyWrites() {
        attempts++;
        await new Promise((r) => setImmediate(r));
        throw new DatabaseUnreachableError("postgres://db", 60_000, { cause: new Error("connect ECONNREFUSED") });
      },
    });
    const outcomes = await Promise.allSettled(["a", "b", "c", "d"].map((m) => batcher.write([log(m.toUpperCase(), m)])));
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseUnreachableError);
    expect(attempts).toBe(1);
  });

  it("finds a few failing writers among many without one transaction per writer", async () => {
    const store = fakeStore();
    const batcher = new WriteBatcher(store);
    const writes = Array.from({ length: 1024 }, (_, i) => batcher.write([log(`F${i}`, i === 700 ? "poison" : `ok${i}`)]));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.filter((o) => o.status === "rejected")).toHaveLength(1);
    expect(outcomes[700]!.status).toBe("rejected");
    expect(store.committed).toHaveLength(1023);
    expect(store.transactions).toBeLessThanOrEqual(1 + 2 * 10);
  });
});
