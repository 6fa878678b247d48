/**
 * The worker-thread runner (on SQLite and PostgreSQL): values cross through the result
 * serialiser, errors keep their class, a timeout terminates the thread (a busy loop cannot stop
 * otherwise). And a store that cannot be opened says where and why.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, shutdown, StoreOpenError } from "../../src/index.ts";
import { getRuntime } from "../../src/sdk/runtime.ts";
import { openStore } from "../../src/store/open.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";
import { threadedByDefault, threadErrorsFlow, threadFlow } from "./fixtures/thread-tasks.ts";

describe.each(DIALECTS)("runner: threads on %s", (dialect) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-threads-"));
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    await configure({ databaseUrl: db.url, resultsDir: path.join(dir, "results"), logLevel: "silent" });
  });
  afterAll(async () => {
    await shutdown();
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes BigInt, Date and Set through the thread boundary and times out a busy loop", async () => {
    const started = Date.now();
    const run = await threadFlow.run({ spinMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(10_000); // the 30 s spin was cut off
    expect(run.state.name).toBe("Completed");
    expect(run.result!.squared).toEqual({ value: 144n, when: new Date(0), tags: new Set(["t"]) });
    expect(run.result!.spun).toBe("TimedOut");
    const store = (await getRuntime()).store;
    const spin = (await store.listTaskRuns(run.id)).find((t) => t.taskName === "spin")!;
    expect(spin.state.message).toMatch(/timed out after 300 ms/);
    // The pool still works after a thread was terminated.
    expect((await threadFlow.run({ spinMs: 10 })).result!.spun).toBe("Completed");
  });

  it("runs a flow's tasks in threads with taskRunner: threads, unless a task says otherwise", async () => {
    const run = await threadedByDefault.run();
    expect(run.result).toEqual({ plain: "thread", pinned: "main" });
  });

  it("keeps error classes across the thread boundary, and runs a renamed copy of a thread task", async () => {
    const run = await threadErrorsFlow.run();
    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual({ fatalIsNonRetryable: true, typed: "Failed", renamed: "ok:copy" });
    const store = (await getRuntime()).store;
    const runs = new Map((await store.listTaskRuns(run.id)).map((t) => [t.taskKey, t]));
    // NonRetryableError is not retried; a TypeError is, and both keep their names.
    expect(runs.get("refuse-0")).toMatchObject({ runCount: 1, state: { name: "Failed" }, error: { name: "NonRetryableError", message: "credentials revoked" } });
    expect(runs.get("refuse-1")).toMatchObject({ runCount: 3, error: { name: "TypeError", message: "depth must be a number" } });
    expect(runs.get("refuseRenamed-0")).toMatchObject({ taskName: "refuseRenamed", state: { name: "Completed" } });
  });
});

describe("opening a store", () => {
  it("names the path or URL and the reason", async () => {
    const file = path.join(os.tmpdir(), `baton-not-a-dir-${process.pid}`);
    fs.writeFileSync(file, "");
    await expect(openStore(`sqlite://${file}/sub/baton.db`)).rejects.toThrow(StoreOpenError);
    await expect(openStore(`sqlite://${file}/sub/baton.db`)).rejects.toThrow(new RegExp(`cannot open the Baton store at ${file}/sub/baton.db: .*(EEXIST|ENOTDIR|not a directory)`));
    // A refused connection is waited out for the retry window (short here), then named.
    await expect(openStore("postgres://postgres:secret@127.0.0.1:1/nope", { retryMs: 300 })).rejects.toThrow(
      /cannot open the Baton store at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nope: unreachable for 0\.\d s \(BATON_DATABASE_RETRY_MS\): connect ECONNREFUSED/,
    );
    await expect(openStore("mysql://x")).rejects.toThrow(/unsupported database URL/);
    fs.rmSync(file);
  });
});
