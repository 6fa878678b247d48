/**
 * Path traversal through stored results, on SQLite and PostgreSQL: the API refuses a result
 * with a client-chosen path, and a row that points elsewhere anyway (written straight into the
 * database) makes a resume fail with a clear error — the file it points at is never read back
 * into a run, a state message or an API response.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, task } from "../../src/index.ts";
import { buildServer, type BatonServer } from "../../src/server/app.ts";
import { serialize } from "../../src/core/serializer.ts";
import { newId } from "../../src/core/ids.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { DIALECTS } from "../support/databases.ts";
import { configureEngine, type DatabaseEngine } from "../support/engine.ts";
import { expectError } from "../support/api.ts";

const SECRET = "TOP-SECRET-CONTENTS";

describe.each(DIALECTS)("stored result paths on %s", (dialect) => {
  let engine: DatabaseEngine;
  let store: KyselyStore;
  let server: BatonServer;
  let outside: string;
  let secretFile: string;
  const call = async (method: "GET" | "POST", url: string, payload?: object) => {
    const response = await server.app.inject({ method, url, payload });
    return { status: response.statusCode, body: JSON.parse(response.body || "null"), text: response.body };
  };

  beforeAll(async () => {
    engine = await configureEngine(dialect);
    store = engine.store as KyselyStore;
    server = await buildServer({ store, eventPollMs: 50 });
    // A file outside the results directory holding a valid serialised value: only the path
    // checks stand between it and a run that loads it.
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "baton-outside-"));
    secretFile = path.join(outside, "secret.json");
    fs.writeFileSync(secretFile, serialize(SECRET));
  });
  afterAll(async () => {
    await server.close();
    await engine.close();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it("POST /api/batch refuses a result with a path that is no content address, naming the field, and stores nothing", async () => {
    const run = await call("POST", "/api/flow-runs", { flowName: "remote-results" });
    await call("POST", `/api/flow-runs/${run.body.id}/set-state`, { state: { name: "Running" } });
    for (const [value, resultPath] of [[null, "../../secret.json"], [null, "/etc/passwd"], [serialize(1), secretFile]] as const) {
      const id = newId();
      const res = await call("POST", "/api/batch", { ops: [{ kind: "result", result: { id, serializer: "devalue/1", value, path: resultPath, size: 10, createdAt: Date.now() } }] });
      expectError(res, 400, /^body\.ops\.0\.result\.path must match pattern/);
      expect((await call("GET", `/api/results/${id}`)).status).toBe(404);
    }
    // Inline, the way remote flows send results: stored.
    const id = newId();
    const ok = await call("POST", "/api/batch", { ops: [{ kind: "result", result: { id, serializer: "devalue/1", value: serialize(2), path: null, size: 1, createdAt: Date.now() } }] });
    expect(ok.status, ok.text).toBe(200);
    expect((await call("GET", `/api/results/${id}`)).body).toMatchObject({ value: serialize(2), path: null });
  });

  it("a resume refuses a stored result whose path leads out of the results directory; its contents appear nowhere", async () => {
    const big = task(async function bigPart() {
      return new Float64Array(20_000).fill(1.5); // over the inline limit: a file
    });
    let failOnce = true;
    const f = flow(async function traversedFlow() {
      const part = await big();
      if (failOnce) {
        failOnce = false;
        throw new Error("after the big part");
      }
      return part; // a leaked file would become the flow's result
    });
    const failed = await f.run();
    expect(failed.state.name).toBe("Failed");
    const [part] = await store.listTaskRuns(failed.id);
    const resultId = part!.resultId!;
    const stored = (await store.getResult(resultId))!.path!;
    const linkName = "f".repeat(64) + ".json";
    fs.symlinkSync(secretFile, path.join(engine.resultsDir, linkName));
    const tampered = [path.relative(engine.resultsDir, secretFile), "../../secret.json", secretFile, linkName];
    for (const [i, bad] of tampered.entries()) {
      await store.db.updateTable("results").set({ path: bad }).where("id", "=", resultId).execute();
      const resumed = await f.resume(failed.id);
      expect(resumed.state.name, bad).toBe("Failed");
      expect(resumed.state.message).toMatch(
        i < 3 ? new RegExp(`result ${resultId} cannot be read: its stored path ".*" is not the name of a result blob`) : /links to a file outside the results directory/,
      );
      expect(resumed.result).toBeUndefined();
    }

    // Nothing the store or the API answers about this run holds the file's contents.
    const answers = await Promise.all(
      [`/api/flow-runs/${failed.id}`, `/api/flow-runs/${failed.id}/states`, `/api/flow-runs/${failed.id}/task-runs`, `/api/logs?flowRunId=${failed.id}`, `/api/results/${resultId}`].map(
        (url) => call("GET", url),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(SECRET);
    }
    expect(JSON.stringify(await store.stateHistory(failed.id))).not.toContain(SECRET);

    // Put back, the result is read again and the run completes.
    await store.db.updateTable("results").set({ path: stored }).where("id", "=", resultId).execute();
    const completed = await f.resume(failed.id);
    expect(completed.state.name).toBe("Completed");
    expect((completed.result as Float64Array).length).toBe(20_000);
  });

  it("the result of a Completed run is refused the same way when loaded", async () => {
    const f = flow(async function bigResultFlow() {
      return new Float64Array(20_000).fill(2.5);
    });
    const done = await f.run();
    const resultId = (await store.getFlowRun(done.id))!.resultId!;
    await store.db.updateTable("results").set({ path: secretFile }).where("id", "=", resultId).execute();
    await expect(f.resume(done.id)).rejects.toThrow(new RegExp(`result ${resultId} cannot be read: its stored path`));
  });
});
