/**
 * Flow parameters, and the task and flow options through real runs: hooks, retries with
 * jitter, timeouts, persistResult, thread runners and option copies — on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { configure, flow, shutdown, task } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import type { Store } from "../../src/store/types.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

describe.each(DIALECTS)("flow parameters and run options on %s", (dialect) => {
  let cleanup: () => Promise<void>;
  let store: Store;
  let resultsDir: string;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-results-"));
    await configure({ databaseUrl: db.url, resultsDir, logLevel: "silent" });
    store = (await getRuntime()).store;
  });

  afterAll(async () => {
    await shutdown();
    await cleanup();
    fs.rmSync(resultsDir, { recursive: true, force: true });
  });

  it("refuses parameters that JSON would change, naming the path: the run ends Failed, runs nothing, cannot be resumed", async () => {
    let ran = 0;
    const f = flow(async function jsonParamsFlow(_params: Record<string, unknown>) {
      ran++;
    });
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    const cases: [Record<string, unknown>, string][] = [
      [{ start: new Date(0) }, "params.start is a Date"],
      [{ lookup: new Map([[1, 2]]) }, "params.lookup is a Map"],
      [{ nested: { fn: () => 1 } }, "params.nested.fn is a function"],
      [{ items: [1, undefined, 3] }, "params.items[1] is undefined"],
      [{ big: 10n }, "params.big is a BigInt"],
      [{ ratio: Number.NaN }, "params.ratio is NaN"],
      [{ rows: [{ ok: 1 }, { when: new Date(0) }] }, "params.rows[1].when is a Date"],
      [{ "odd key": Infinity }, 'params["odd key"] is Infinity'],
      [circular, "params.self is a circular reference"],
      [{ url: new URL("https://example.org") }, "params.url is a URL"],
    ];
    for (const [params, expected] of cases) {
      const run = await f.run(params);
      expect(run.state.name, expected).toBe("Failed");
      expect(run.state.message).toBe(`${expected}; flow parameters must be JSON (string, number, boolean, null, arrays, plain objects)`);
      expect(run.error?.name).toBe("ParameterValidationError");
    }
    expect(ran).toBe(0);
    // Undefined properties read back as missing: the same value for the flow, so accepted.
    expect((await f.run({ maybe: undefined, n: 1 })).state.name).toBe("Completed");

    const refused = await f.run({ start: new Date(0), big: 10n });
    const stored = (await store.getFlowRun(refused.id))!;
    expect(stored.parameters).toEqual({ start: "1970-01-01T00:00:00.000Z", big: "10n" }); // shown, not reused
    await expect(f.resume(refused.id)).rejects.toThrow(/was refused its parameters \(params\.start is a Date.*start a new run/);
  });

  it("lets a zod schema turn JSON strings into Dates, on the first run and on resume", async () => {
    const seen: unknown[] = [];
    let fail = true;
    const step = task(async function dateStep(at: Date) {
      if (fail) throw new Error("not yet");
      return at.getUTCFullYear();
    });
    const f = flow(
      async function coercedDatesFlow(params: { start: Date }) {
        seen.push(params.start);
        return step(params.start);
      },
      { params: z.object({ start: z.coerce.date() }) },
    );
    const first = await f.run({ start: "2026-03-04T05:06:07Z" } as never);
    expect(first.state.name).toBe("Failed");
    fail = false;
    const resumed = await f.resume(first.id);
    expect(resumed.result).toBe(2026);
    expect(seen).toHaveLength(2);
    for (const value of seen) expect(value).toEqual(new Date("2026-03-04T05:06:07Z"));
  });

  it("ends a claimed run Failed when its stored parameters do not pass the schema", async () => {
    const { makeState } = await import("../../src/core/states.ts");
    const { newId } = await import("../../src/core/ids.ts");
    const f = flow(async function schemaClaimedFlow(params: { n: number }) {
      return params.n;
    }, { params: z.object({ n: z.number().int() }) });
    const created = await store.createFlowRun({ id: newId(), flowName: "schemaClaimedFlow", name: "api-made", parentFlowRunId: null, parentTaskRunId: null, parameters: { n: "seven" }, tags: [], version: null, state: makeState("Pending") });
    const outcome = await f.resume(created.id);
    expect(outcome.state.name).toBe("Failed");
    expect(outcome.state.message).toMatch(/invalid parameters for flow "schemaClaimedFlow"/);
    expect((await store.listTaskRuns(created.id)).length).toBe(0);
  });

  it("refuses waitFor items that are not task futures, naming the option", async () => {
    const t = task(async function waiter() {
      return 1;
    });
    const other = task(async function waitedOn(n = 2) {
      return n;
    });
    expect(() => t.with({ waitFor: [1] })).toThrow(/task option "waitFor" must hold task futures \(from submit\(\) or map\(\)\); item 0 is a number/);
    const f = flow(async function waitForFlow() {
      const called = other(); // a promise, not a future
      let message = "";
      try {
        t.with({ waitFor: [other.submit(), [called]] });
      } catch (error) {
        message = `${(error as Error).name}: ${(error as Error).message}`;
      }
      await called;
      // Futures and arrays of futures (as map returns) are fine.
      const ok = await t.with({ waitFor: [other.submit(), other.map([1, 2])] })();
      return { message, ok };
    });
    const run = await f.run();
    expect(run.result).toEqual({ message: expect.stringMatching(/^TypeError: task option "waitFor" .*item 1 is an array holding a Promise$/), ok: 1 });
  });
});
