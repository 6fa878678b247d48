/** The flow's `maxConcurrency` semaphore: a waiter whose signal aborts leaves, and its slot goes to the next one. */
import { describe, expect, it } from "vitest";
import { Semaphore } from "../../src/engine/semaphore.ts";

describe("Semaphore", () => {
  it("rejects an aborted waiter with the signal's reason and hands the slot to the next waiter", async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const controller = new AbortController();
    const stopped = semaphore.acquire(controller.signal);
    let nextGot = false;
    const next = semaphore.acquire().then(() => (nextGot = true));
    const reason = new Error("the flow run stopped");
    controller.abort(reason);
    await expect(stopped).rejects.toBe(reason);
    semaphore.release();
    await next;
    expect(nextGot).toBe(true);
    expect(semaphore.active).toBe(1);
    semaphore.release();
    expect(semaphore.active).toBe(0);
    await expect(semaphore.acquire(controller.signal)).resolves.toBeUndefined(); // a free slot is taken without looking at the signal
  });
});
