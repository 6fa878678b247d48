/**
 * The event log against real `baton server start` processes, on SQLite and PostgreSQL: a stream
 * client and `baton events watch` resume after the server is SIGKILLed and restarted with every
 * event committed meanwhile exactly once (on PostgreSQL one of them committed out of seq order
 * around the crash); `emitEvent` from a task of a remote flow run is stored and listed; `baton
 * events ls --json` filters.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import type { EventRecord, NewEvent } from "../../src/core/event-records.ts";
import { openStore } from "../../src/store/open.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { e2eDialects, freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startProcess, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openSse } from "../support/sse.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/event-flows.ts");

const event = (name: string, resource: string): NewEvent => ({ id: newId(), occurred: Date.now(), event: name, resource: { id: resource }, related: [], payload: {} });

describe.each(e2eDialects("postgres"))("the event log behind a server process on %s", (dialect) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-events-e2e-"));
  let db: { url: string; cleanup(): Promise<void> };
  let store: KyselyStore;
  let server: { proc: Proc; url: string };
  const env = () => ({ BATON_HOME: home, BATON_DATABASE_URL: db.url });
  const client = () => ({ BATON_HOME: path.join(home, "client"), BATON_API_URL: `${server.url}/api`, BATON_LOG_LEVEL: "warn" });

  beforeAll(async () => {
    db = await freshDatabaseUrl(dialect);
    store = await openStore(db.url);
    server = await startServerProcess(env());
  });
  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await store?.close();
    await db?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("a stream client and `events watch` resume across a SIGKILL and restart: every event committed meanwhile, once", async () => {
    const resource = `restart-${dialect}`;
    const stream = await openSse(`${server.url}/api/events/stream?resource=${resource}`);
    await until(() => stream.lastId(), "the stream to connect");
    const watch = startProcess([BIN, "events", "watch", "--json", "--resource", resource], client());
    await until(() => watch.stderr().includes("Watching events"), "the watcher to subscribe", 20_000);
    await store.emitEvents([event("r.before", resource)]);
    await until(() => watch.stdout().includes("r.before"), "the watcher to get the first event", 20_000);
    await stream.waitFor(1);

    // PostgreSQL: a transaction takes its seq now and commits only after the server died; the
    // event after it (a higher seq) is delivered first.
    let late: pg.Client | null = null;
    if (dialect === "postgres") {
      late = new pg.Client(db.url);
      await late.connect();
      await late.query("begin");
      await late.query("insert into events (id, occurred, received, event, resource_id, resource, related, payload) values ($1, $2, $2, 'r.late', $3, $4, '[]', '{}')", [
        newId(),
        Date.now(),
        resource,
        JSON.stringify({ id: resource }),
      ]);
      await store.emitEvents([event("r.early", resource)]);
      await stream.waitFor(2);
      await until(() => watch.stdout().includes("r.early"), "the watcher to get the early event");
    }
    const resumeFrom = stream.lastId()!;
    stream.close();

    server.proc.child.kill("SIGKILL");
    await server.proc.exit;
    if (late) {
      await late.query("commit");
      await late.end();
    }
    await store.emitEvents([event("r.while-down", resource)]);
    server = await startServerProcess(env(), [], Number(new URL(server.url).port));
    await store.emitEvents([event("r.after", resource)]);

    const resumed = await openSse(`${server.url}/api/events/stream?resource=${resource}`, { "last-event-id": resumeFrom });
    const missed = dialect === "postgres" ? ["r.late", "r.while-down", "r.after"] : ["r.while-down", "r.after"];
    await resumed.waitFor(missed.length, 15_000);
    await until(() => watch.stdout().includes("r.after"), "the watcher to reconnect", 20_000);
    await new Promise((r) => setTimeout(r, 600)); // nothing more comes
    resumed.close();
    expect(resumed.messages.map((m) => (JSON.parse(m.data!) as EventRecord).event)).toEqual(missed);
    watch.child.kill("SIGINT");
    expect(await watch.exit, watch.stderr()).toBe(0);
    const watched = watch
      .stdout()
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as EventRecord).event);
    expect(watched.sort()).toEqual(["r.before", ...(dialect === "postgres" ? ["r.early", "r.late"] : []), "r.while-down", "r.after"].sort());
  });

  it("a failing flow's baton.flow-run.Failed reaches the stream within 1 s and is listed by GET /api/events", async () => {
    const stream = await openSse(`${server.url}/api/events/stream?event=baton.flow-run.Failed`);
    await until(() => stream.lastId(), "the stream to connect");
    const arrived: number[] = [];
    const watched = stream.messages;
    const timer = setInterval(() => {
      while (arrived.length < watched.length) arrived.push(Date.now());
    }, 5);
    try {
      const run = await cli(["run", FLOWS, "--flow", "failing"], client());
      expect(run.code).toBe(1);
      const [message] = await stream.waitFor(1);
      const received = JSON.parse(message!.data!) as EventRecord;
      expect(received.event).toBe("baton.flow-run.Failed");
      await until(() => arrived.length >= 1, "the arrival time");
      // `occurred` is the transition's own time, taken in the run's process on this machine.
      expect(arrived[0]! - received.occurred).toBeLessThan(1000);
      const listed = (await (await fetch(`${server.url}/api/events?event=baton.flow-run.*&resource=${received.resource.id}&order=oldest`)).json()) as { items: EventRecord[] };
      expect(listed.items.map((e) => e.event)).toEqual(["baton.flow-run.Pending", "baton.flow-run.Running", "baton.flow-run.Failed"]);
      expect(listed.items.at(-1)!.payload).toMatchObject({ state: { message: expect.stringContaining("the source table is empty") } });
    } finally {
      clearInterval(timer);
      stream.close();
    }
  });

  it("stores what emitEvent sends from a task of a remote flow run; `events ls --json` lists it", async () => {
    const key = `s3://bucket/${dialect}.csv`;
    const run = await cli(["run", FLOWS, "--flow", "emitting", "--param", `key=${key}`], client());
    expect(run.code, run.stderr).toBe(0);
    const [flowRun] = await store.listFlowRuns({ flowName: "emitting", limit: 1 });
    const listed = (await (await fetch(`${server.url}/api/events?involves=${flowRun!.id}&order=oldest`)).json()) as { items: EventRecord[] };
    expect(listed.items.map((e) => e.event)).toEqual(expect.arrayContaining(["pipeline.started", "data.loaded"]));
    expect(listed.items.find((e) => e.event === "data.loaded")).toMatchObject({ resource: { id: key }, payload: { rows: 3 } });
    const ls = await cli(["events", "ls", "--json", "--event", "data.*", "--resource", key, "--since", "10m"], client());
    expect(ls.code, ls.stderr).toBe(0);
    const items = JSON.parse(ls.stdout) as EventRecord[];
    expect(items.map((e) => e.event)).toEqual(["data.loaded"]);
    const bad = await cli(["events", "ls", "--event", "data..x"], client());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--event: "data\.\.x" is not an event pattern/);
    const table = await cli(["events", "ls", "--involves", flowRun!.id], client());
    expect(table.stdout).toMatch(/pipeline\.started/);
  });
});
