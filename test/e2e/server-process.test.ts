/**
 * `baton server start` as operators run it: flags and settings reach the server, it stops
 * promptly on SIGTERM/SIGINT even with clients connected to the event streams, and a
 * `flow-run watch` rides out its restart.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, startProcess, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { freshDatabaseUrl } from "../support/databases.ts";
import { openStore } from "../../src/store/open.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-server-process-"));

function startServer(args: string[] = [], env: Record<string, string> = {}, port = 0): Promise<{ proc: Proc; url: string }> {
  return startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: `sqlite://${path.join(home, "baton.db")}`, ...env }, args, port);
}

const post = async (url: string, body: unknown) => {
  const response = await fetch(`${url}/api/flow-runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
};

beforeAll(() => fs.mkdirSync(home, { recursive: true }));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("baton server start", () => {
  it("takes the body limit from --body-limit, over BATON_SERVER_BODY_LIMIT_BYTES", async () => {
    const server = await startServer(["--body-limit", "2000"], { BATON_SERVER_BODY_LIMIT_BYTES: "100000" });
    try {
      expect((await post(server.url, { flowName: "small" })).status).toBe(201);
      const big = await post(server.url, { flowName: "big", parameters: { blob: "x".repeat(3000) } });
      expect(big.status).toBe(413);
      expect(big.body.error.message).toMatch(/larger than the server's limit of 2000 bytes/);
    } finally {
      server.proc.child.kill("SIGTERM");
      await server.proc.exit;
    }
    const fromEnv = await startServer([], { BATON_SERVER_BODY_LIMIT_BYTES: "2500" });
    try {
      expect((await post(fromEnv.url, { flowName: "big", parameters: { blob: "x".repeat(3000) } })).body.error.message).toMatch(/limit of 2500 bytes/);
    } finally {
      fromEnv.proc.child.kill("SIGTERM");
      await fromEnv.proc.exit;
    }
  });

  it("shows its PostgreSQL URL without credentials, at start and on the unauthenticated /api/health", async () => {
    const db = await freshDatabaseUrl("postgres");
    // The local server trusts every connection: these passwords are sent nowhere, only shown.
    const url = new URL(db.url);
    url.password = "userinfo-secret";
    url.search = "?password=query-secret&application_name=baton-e2e";
    const server = await startServer([], { BATON_DATABASE_URL: url.toString(), BATON_SERVER_API_KEYS: "admin:admin-secret-1" });
    try {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { database: { location: string } };
      for (const shown of [server.proc.stdout(), health.database.location]) {
        expect(shown).not.toMatch(/userinfo-secret|query-secret/);
        expect(shown).toContain(":***@127.0.0.1:5432/");
        expect(shown).toContain("?password=***&application_name=baton-e2e");
      }
    } finally {
      await stopProcess(server.proc);
      await db.cleanup();
    }
  });

  it.each(["SIGTERM", "SIGINT"] as const)("exits promptly on %s with a client on the event stream", async (signal) => {
    const server = await startServer();
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/live/stream`, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/connected/);
    // A client of the event log's stream too: it must not hold the server open either.
    const events = (await fetch(`${server.url}/api/events/stream`, { signal: controller.signal })).body!.getReader();
    expect(new TextDecoder().decode((await events.read()).value)).toMatch(/connected/);
    const started = Date.now();
    server.proc.child.kill(signal);
    const code = await Promise.race([server.proc.exit, new Promise((r) => setTimeout(() => r("hung"), 8_000))]);
    if (code === "hung") server.proc.child.kill("SIGKILL");
    expect(code, server.proc.stderr()).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The stream ended cleanly rather than hanging.
    expect((await reader.read().catch(() => ({ done: true }))).done).toBe(true);
    expect((await events.read().catch(() => ({ done: true }))).done).toBe(true);
    controller.abort();
  });

  it("keeps `flow-run watch` following across a server restart", async () => {
    let server = await startServer();
    const store = await openStore(`sqlite://${path.join(home, "baton.db")}`);
    const watchEnv = { BATON_HOME: home, BATON_API_URL: `${server.url}/api` };
    let watch: Proc | null = null;
    try {
      const run = await store.createFlowRun({ id: newId(), flowName: "restarted", name: "r", parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
      await store.setFlowRunState(run.id, makeState("Running"));
      watch = startProcess([BIN, "flow-run", "watch", run.id], watchEnv);
      await until(() => watch!.stdout().includes("Watching"), "watch to start");
      server.proc.child.kill("SIGTERM");
      await server.proc.exit;
      await new Promise((r) => setTimeout(r, 500));
      expect(watch.child.exitCode).toBeNull();
      server = await startServer([], {}, Number(new URL(server.url).port));
      // A line written after the restart reaches the watcher: it reconnected to the stream.
      await store.applyWrites([{ kind: "log", log: { flowRunId: run.id, taskRunId: null, level: 30, message: "after the restart", timestamp: Date.now() } }]);
      await until(() => watch!.stdout().includes("after the restart"), "the watcher to reconnect", 15_000);
      await store.setFlowRunState(run.id, makeState("Completed"));
      const code = await Promise.race([watch.exit, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
      expect(code, watch.stdout() + watch.stderr()).toBe(0);
      expect(watch.stdout()).toMatch(/Flow run ended Completed/);
      expect(watch.stdout()).not.toMatch(/ended Running/);
    } finally {
      if (watch?.child.exitCode === null) watch.child.kill("SIGKILL");
      await store.close();
      server.proc.child.kill("SIGTERM");
      await server.proc.exit;
    }
  });

  it("refuses a bad --body-limit", async () => {
    const proc = startProcess([BIN, "server", "start", "--port", "0", "--body-limit", "lots"], { BATON_HOME: home });
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(/--body-limit must be a positive number of bytes, got "lots"/);
  });
});
