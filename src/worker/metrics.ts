/**
 * A worker's own Prometheus metrics (`baton worker start --metrics-port N`), served at
 * `/metrics` by a small HTTP server of the worker's process: the runs it claimed, started and
 * saw finish, its active runs, how long its claims took, and Node's process metrics. The
 * server's metrics (GET /metrics on the API) are about the whole database; these are about one
 * worker, so a pool's workers can be told apart by Prometheus' `instance` label.
 */
import http from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { BatonConfigError } from "../core/errors.ts";

const CLAIM_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly claimed: Counter<"work_pool">;
  readonly started: Counter<"work_pool">;
  readonly finished: Counter<"work_pool" | "state">;
  readonly active: Gauge<"work_pool">;
  readonly claimDuration: Histogram<"work_pool">;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.claimed = new Counter({ name: "baton_worker_runs_claimed_total", help: "Flow runs this worker claimed", labelNames: ["work_pool"], registers });
    this.started = new Counter({ name: "baton_worker_runs_started_total", help: "Flow runs whose process this worker started", labelNames: ["work_pool"], registers });
    this.finished = new Counter({ name: "baton_worker_runs_finished_total", help: "Flow runs of this worker whose process ended, by the run's state then", labelNames: ["work_pool", "state"], registers });
    this.active = new Gauge({ name: "baton_worker_active_runs", help: "Flow runs this worker is running now", labelNames: ["work_pool"], registers });
    this.claimDuration = new Histogram({
      name: "baton_worker_claim_duration_seconds",
      help: "Time a claim took, answered with runs or not (behind a server it includes the long-poll's wait for a due run)",
      labelNames: ["work_pool"],
      buckets: CLAIM_SECONDS,
      registers,
    });
  }
}

/** Where to serve them, validated: the port (0: any free one) and the host. */
export interface MetricsAddress {
  port: number;
  host: string;
}

/** `--metrics-port` and `--metrics-host` as typed; null when no port was given. */
export function compileMetricsAddress(port: string | undefined, host: string | undefined): MetricsAddress | null {
  if (port === undefined) {
    if (host !== undefined) throw new BatonConfigError(`--metrics-host needs --metrics-port: give the port to serve the worker's metrics on (got --metrics-host ${host} alone)`);
    return null;
  }
  const value = Number(port);
  if (!/^\d+$/.test(port.trim()) || !Number.isInteger(value) || value > 65535)
    throw new BatonConfigError(`--metrics-port must be a port number from 0 to 65535 (0: any free port), got "${port}"`);
  const chosen = host ?? "127.0.0.1";
  if (!chosen.trim() || /[\s/]/.test(chosen)) throw new BatonConfigError(`--metrics-host must be a host name or IP address to listen on, got "${chosen}"`);
  return { port: value, host: chosen };
}

/** Serves `/metrics` of `metrics`; resolves with its URL once listening (fails naming the address). */
export async function serveWorkerMetrics(metrics: WorkerMetrics, address: MetricsAddress): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: the worker serves GET /metrics only\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new BatonConfigError(`cannot serve the worker's metrics on ${address.host}:${address.port}: ${error.code === "EADDRINUSE" ? "the port is in use" : error.message} (--metrics-port, --metrics-host)`, { cause: error })),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  const port = bound && typeof bound === "object" ? bound.port : address.port;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
