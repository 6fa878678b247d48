import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { abortableSleep, onAbort, withTimeout } from "../../src/engine/timing.ts";

describe("abort watching", () => {
  it("puts one listener on a signal however many calls watch it (adding listeners one by one is quadratic)", async () => {
    const outer = new AbortController();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      withTimeout(() => gate.then(() => i), { timeoutMs: null, name: `task ${i}`, controller: new AbortController(), signal: outer.signal }),
    );
    const sleeps = Array.from({ length: 100 }, () => abortableSleep(60_000, outer.signal));
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(1);
    open();
    expect(await Promise.all(calls)).toHaveLength(1_000);
    outer.abort(new Error("stopped"));
    // The finished calls stopped watching; the sleeping ones are woken with the signal's reason.
    for (const sleep of sleeps) await expect(sleep).rejects.toThrow("stopped");
  });

  it("calls each watcher once, and not one that unsubscribed", () => {
    const controller = new AbortController();
    const seen: string[] = [];
    onAbort(controller.signal, () => seen.push("a"));
    const stop = onAbort(controller.signal, () => seen.push("b"));
    onAbort(controller.signal, () => seen.push("c"));
    stop();
    controller.abort();
    controller.abort();
    expect(seen).toEqual(["a", "c"]);
  });

  it("rejects a call in flight with the signal's reason when it aborts", async () => {
    const outer = new AbortController();
    const call = withTimeout(() => new Promise(() => undefined), { timeoutMs: null, name: "task t", controller: new AbortController(), signal: outer.signal });
    outer.abort(new Error("flow cancelled"));
    await expect(call).rejects.toThrow("flow cancelled");
  });
});
