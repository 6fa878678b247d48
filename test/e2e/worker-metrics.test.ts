/**
 * `baton worker start --metrics-port N`: a real worker process serves its own Prometheus
 * metrics; after it ran a deployment's runs, the scrape (read by Prometheus' official parser)
 * counts them claimed, started and finished, none active, its claims timed, and Node's process
 * metrics. Bad metrics options stop the worker at once with a message naming the option.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, stopProcess, until } from "../support/processes.ts";
import { parseMetrics, valueOf } from "../support/prometheus.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

describe("a worker's metrics port", () => {
  let db: WorkerDatabase;
  beforeAll(async () => {
    db = await openWorkerDatabase("sqlite");
  });
  afterAll(() => db?.close());

  it("serves /metrics counting the runs the worker claimed, started and finished", async () => {
    await db.orchestration.upsertWorkPool({ name: "metered" });
    const d = await db.deploy("metered-quick", "quick", { workPool: "metered" });
    const runs = await Promise.all([1, 2, 3].map((n) => db.createRun(d, { n })));
    const log = path.join(db.dir, "metered.log");
    // The runs execute inside the worker (BATON_TEST_INLINE_RUNS): seconds, not a process each.
    const worker = startWorkerProcess(db.url, "metered", { E2E_LOG: log, BATON_TEST_INLINE_RUNS: "1" }, ["--metrics-port", "0"]);
    try {
      const url = await until(() => /Worker metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(worker.stdout())?.[1], "the worker's metrics line", 90_000);
      await until(async () => (await Promise.all(runs.map((r) => db.store.getFlowRun(r.id)))).every((r) => r?.state.name === "Completed"), "the runs to complete", 90_000);
      // The end is counted once the worker recorded it (its log line comes after).
      const families = await until(async () => {
        const parsed = parseMetrics(await (await fetch(url)).text());
        return valueOf(parsed, "baton_worker_runs_finished_total", { work_pool: "metered", state: "Completed" }) === 3 && parsed;
      }, "three finished runs in the worker's metrics", 30_000);
      expect(valueOf(families, "baton_worker_runs_claimed_total", { work_pool: "metered" })).toBe(3);
      expect(valueOf(families, "baton_worker_runs_started_total", { work_pool: "metered" })).toBe(3);
      expect(valueOf(families, "baton_worker_active_runs", { work_pool: "metered" })).toBe(0);
      expect(valueOf(families, "baton_worker_claim_duration_seconds_count", { work_pool: "metered" })).toBeGreaterThanOrEqual(1);
      expect(valueOf(families, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(families.find((f) => f.name === "nodejs_eventloop_lag_seconds")).toBeDefined();
      expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
      expect(fs.readFileSync(log, "utf8").trim().split("\n")).toHaveLength(3);
    } finally {
      await stopProcess(worker);
    }
  }, 180_000);

  it("refuses bad metrics options at once, naming the option", async () => {
    const env = { BATON_DATABASE_URL: db.url };
    const cases = [
      [["--metrics-port", "http"], /--metrics-port must be a port number from 0 to 65535 \(0: any free port\), got "http"/],
      [["--metrics-port", "70000"], /--metrics-port must be a port number from 0 to 65535/],
      [["--metrics-host", "0.0.0.0"], /--metrics-host needs --metrics-port/],
    ] as const;
    const outcomes = await Promise.all(cases.map(([args]) => cli(["worker", "start", "--pool", "metered", ...args], env)));
    outcomes.forEach(({ code, stderr }, i) => {
      expect(code, stderr).not.toBe(0);
      expect(stderr).toMatch(cases[i]![1]);
    });
  }, 120_000);
});
