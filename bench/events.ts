/**
 * The event log: appending events (direct, and POST /api/events), reading them
 * (GET /api/events with 100,000 stored, driven by autocannon) and how soon the stream delivers
 * a committed event (GET /api/events/stream), against a server in its own process, on SQLite
 * and PostgreSQL.
 * Usage: tsx bench/events.ts [--only sqlite|postgres] [--events N] [--seconds S]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import Table from "cli-table3";
import type { NewEvent } from "../src/core/event-records.ts";
import { newId } from "../src/core/ids.ts";
import { sql } from "kysely";
import { openStore } from "../src/store/open.ts";
import { benchPgDatabase, fmt, opt, startServerProcess } from "./support.ts";

const EVENTS = Number(opt("events", "100000"));
const SECONDS = Number(opt("seconds", "8"));
const only = opt("only", "");
const rows: string[][] = [];
const STATES = ["Pending", "Running", "Completed", "Completed", "Failed"] as const;

/** A flow-run transition event as Baton writes them: a run, its flow, deployment and two tags. */
function transitionEvent(i: number, at: number): NewEvent {
  const state = STATES[i % STATES.length]!;
  return {
    id: newId(),
    occurred: at,
    event: `baton.flow-run.${state}`,
    resource: { id: `run-${Math.floor(i / 3)}`, name: `run-${Math.floor(i / 3)}`, labels: { kind: "flow-run" } },
    related: [
      { role: "flow", id: `flow-${i % 20}`, name: `flow-${i % 20}` },
      { role: "deployment", id: `deployment-${i % 10}`, name: `deployment-${i % 10}` },
      { role: "tag", id: i % 2 ? "odd" : "even", name: null },
    ],
    payload: { state: { name: state }, previous: null },
  };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function run(dialect: string, url: string): Promise<void> {
  const store = await openStore(url);
  const now = Date.now() - EVENTS;
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += 1000) {
    const batch: NewEvent[] = [];
    for (let j = i; j < Math.min(EVENTS, i + 1000); j++) batch.push(transitionEvent(j, now + j));
    await store.emitEvents(batch);
  }
  const appendSeconds = (performance.now() - started) / 1000;
  rows.push([dialect, "append, direct (1,000 events per commit)", `${fmt(EVENTS / appendSeconds)} events/s`, "-", "-"]);
  // Planner statistics as autovacuum would have them a minute later (without them PostgreSQL
  // hash-joins the whole index of a related resource instead of walking it backwards).
  if (dialect === "postgres") await sql`analyze`.execute(store.db);

  const server = await startServerProcess(url);
  try {
    for (const [label, query] of [
      ["GET /api/events?limit=50", "limit=50"],
      ["GET /api/events?event=baton.flow-run.Failed&limit=50", "event=baton.flow-run.Failed&limit=50"],
      ["GET /api/events?related=deployment-3&limit=50", "related=deployment-3&limit=50"],
    ] as const) {
      const result = await autocannon({ url: `${server.address}/api/events?${query}`, connections: 10, duration: SECONDS });
      if (result.non2xx) throw new Error(`${label}: ${result.non2xx} non-2xx answers`);
      rows.push([dialect, label, fmt(result.requests.average), `${result.latency.p50} ms`, `${result.latency.p99} ms`]);
    }

    // POST /api/events: 100 events per request, one request at a time.
    const perRequest = 100;
    const requests = 50;
    const postStart = performance.now();
    for (let r = 0; r < requests; r++) {
      const events = Array.from({ length: perRequest }, (_, i) => ({ event: "bench.posted", resource: { id: `posted-${r}-${i}` }, payload: { i } }));
      const response = await fetch(`${server.address}/api/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
      if (!response.ok) throw new Error(`POST /api/events: HTTP ${response.status} ${await response.text()}`);
    }
    const postSeconds = (performance.now() - postStart) / 1000;
    rows.push([dialect, `POST /api/events (${perRequest} per request)`, `${fmt((perRequest * requests) / postSeconds)} events/s`, `${fmt((postSeconds * 1000) / requests)} ms / request`, "-"]);

    // Stream delivery: commit one event in this process, time until the server's stream hands it over.
    const controller = new AbortController();
    const response = await fetch(`${server.address}/api/events/stream?event=bench.ping`, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const next = async (): Promise<void> => {
      for (;;) {
        const frames = buffer.split("\n\n");
        const index = frames.findIndex((f) => f.includes("data: "));
        if (index >= 0 && index < frames.length - 1) {
          buffer = frames.slice(index + 1).join("\n\n");
          return;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    };
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    for (let i = 0; i < 60; i++) {
      await store.emitEvents([{ id: newId(), occurred: Date.now(), event: "bench.ping", resource: { id: `ping-${i}` }, related: [], payload: {} }]);
      const committed = performance.now();
      await next();
      latencies.push(performance.now() - committed);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
    controller.abort();
    latencies.sort((a, b) => a - b);
    rows.push([dialect, "stream: committed by another process → delivered", "-", `${fmt(percentile(latencies, 0.5))} ms`, `${fmt(percentile(latencies, 0.99))} ms`]);
  } finally {
    await server.stop();
    await store.close();
  }
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bench-events-"));
if (!only || only === "sqlite") await run("sqlite", `sqlite://${path.join(home, "events.db")}`);
if (!only || only === "postgres") {
  const db = await benchPgDatabase("events");
  try {
    await run("postgres", db.url);
  } finally {
    await db.drop();
  }
}
const out = new Table({ head: ["store", `request (${EVENTS.toLocaleString("en")} events stored)`, "rate", "p50", "p99"], style: { head: [], border: [] } });
out.push(...rows);
console.log(`\nEvent log (autocannon, 10 connections, ${SECONDS} s each; server in its own process)`);
console.log(out.toString());
fs.rmSync(home, { recursive: true, force: true });
