/**
 * The remote event follower (SSE) survives a server restart: it reconnects with backoff and
 * Last-Event-ID, the server replays what was committed meanwhile, and nothing is delivered twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer, type BatonServer } from "../../src/server/app.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { ApiClient } from "../../src/client/api-client.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { openEventFeed, type BatonEvent } from "../../src/client/event-stream.ts";
import { DIALECTS, freshDatabaseUrl } from "../support/databases.ts";

describe.each(DIALECTS)("event stream on %s", (dialect) => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl(dialect);
    cleanup = db.cleanup;
    store = await openStore(db.url);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const log = (flowRunId: string, message: string) =>
    store.applyWrites([{ kind: "log", log: { flowRunId, taskRunId: null, level: 30, message, timestamp: Date.now() } }]);
  const waitFor = async (probe: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("reconnects after the server restarts and replays what was missed, without repeats", async () => {
    let server: BatonServer = await buildServer({ store, eventPollMs: 20 });
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const port = Number(new URL(address).port);
    const remote = new RemoteStore(new ApiClient({ baseUrl: address, maxRetryMs: 20_000 }));
    const feed = await openEventFeed(remote, "run-r");
    const messages: string[] = [];
    const ids: number[] = [];
    const following = feed.run((event: BatonEvent) => {
      if (event.kind === "log") messages.push(event.message), ids.push(event.id!);
      return !messages.includes("after restart");
    });
    try {
      await log("run-r", "before restart");
      await log("other-run", "not mine");
      await waitFor(() => messages.includes("before restart"), "the first line");
      await server.close();
      await log("run-r", "while down");
      await new Promise((r) => setTimeout(r, 300));
      server = await buildServer({ store, eventPollMs: 20 });
      await server.app.listen({ host: "127.0.0.1", port });
      await log("run-r", "after restart");
      await Promise.race([following, new Promise((_, reject) => setTimeout(() => reject(new Error("the feed did not resume")), 15_000))]);
      expect(messages).toEqual(["before restart", "while down", "after restart"]);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      feed.close();
      await server.close();
    }
  });

  it("gives up with a clear error once the server stays away beyond the retry window", async () => {
    const server = await buildServer({ store, eventPollMs: 20 });
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const remote = new RemoteStore(new ApiClient({ baseUrl: address, maxRetryMs: 800 }));
    const feed = await openEventFeed(remote, "run-x");
    const running = feed.run(() => undefined);
    await server.close();
    await expect(running).rejects.toThrow(/lost the event stream of http:\/\/127\.0\.0\.1:\d+ for more than 1 s/);
    feed.close();
  });
});
