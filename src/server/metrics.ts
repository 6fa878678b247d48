/**
 * The server's Prometheus metrics at `GET /metrics` (text format, prom-client), behind the
 * permission `metrics:read` when authentication is on. Two kinds:
 *
 *   - read from the database at scrape time, so they agree with the API whichever process made
 *     the runs: runs by flow and state, task runs by state, each work queue's scheduled runs and
 *     lateness, workers online, concurrency slots in use. A handful of grouped queries per scrape,
 *     none per run;
 *   - seen by this process as it works, never read back: transitions and durations of flow runs
 *     (the store's observer, after each commit), task runs ended by the write batches it applied
 *     (remote flows), pickup latency, API latency by route pattern, the store's commit latency,
 *     and Node's process metrics (event-loop lag, memory, CPU, handles).
 *
 * Labels are bounded: flow names, state names, pools, queues, limits and route patterns, never a
 * run's id or a raw URL. docs/metrics.md lists every metric.
 */
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { sql } from "kysely";
import { TERMINAL_TYPES } from "../core/states.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import type { FlowRunMove, StoreObserver, TaskRunWrite } from "../store/observer.ts";
import { workerStatus } from "../services/worker-status.ts";

/** Where the metrics are served (outside /api: Prometheus' convention, and not JSON). */
export const METRICS_PATH = "/metrics";

/** Workers that have not beaten for this long are not read at all (they are long offline). */
const WORKER_WINDOW_MS = 60 * 60_000;

const SECONDS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SECONDS_HTTP = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SECONDS_PICKUP = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const SECONDS_RUN = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800, 43200];
const SECONDS_TASK = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

/** The metrics of one server: its own registry, so that servers in one process do not mix. */
export class ServerMetrics implements StoreObserver {
  readonly registry = new Registry();
  private readonly flowRuns: Gauge<"flow" | "state">;
  private readonly taskRuns: Gauge<"state">;
  private readonly queueRuns: Gauge<"work_pool" | "work_queue">;
  private readonly queueDue: Gauge<"work_pool" | "work_queue">;
  private readonly queueLateness: Gauge<"work_pool" | "work_queue">;
  private readonly workersOnline: Gauge<"work_pool">;
  private readonly slotsInUse: Gauge<"limit">;
  private readonly slots: Gauge<"limit">;
  private readonly transitions: Counter<"flow" | "state">;
  private readonly flowRunDuration: Histogram<"flow" | "state">;
  private readonly pickup: Histogram<"work_pool">;
  private readonly tasksEnded: Counter<"state">;
  private readonly taskDuration: Histogram<"state">;
  private readonly commits: Histogram<"kind">;
  readonly requests: Histogram<"method" | "route" | "status_code">;

  constructor(private readonly store: KyselyStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.flowRuns = new Gauge({ name: "baton_flow_runs", help: "Flow runs in the database, by flow and current state (read at scrape time)", labelNames: ["flow", "state"], registers });
    this.taskRuns = new Gauge({ name: "baton_task_runs", help: "Task runs in the database, by current state (read at scrape time)", labelNames: ["state"], registers });
    this.queueRuns = new Gauge({ name: "baton_work_queue_scheduled_runs", help: "Scheduled (and Late) flow runs of each work pool and queue, due or not", labelNames: ["work_pool", "work_queue"], registers });
    this.queueDue = new Gauge({ name: "baton_work_queue_due_runs", help: "Scheduled flow runs of each work pool and queue whose time has come (the queue's depth)", labelNames: ["work_pool", "work_queue"], registers });
    this.queueLateness = new Gauge({ name: "baton_work_queue_lateness_seconds", help: "How long the oldest due run of each work pool and queue has been waiting (0: none due)", labelNames: ["work_pool", "work_queue"], registers });
    this.workersOnline = new Gauge({ name: "baton_workers_online", help: "Workers of each pool whose heartbeat is younger than three of their intervals", labelNames: ["work_pool"], registers });
    this.slotsInUse = new Gauge({ name: "baton_concurrency_slots_in_use", help: "Slots of each concurrency limit held by unexpired leases", labelNames: ["limit"], registers });
    this.slots = new Gauge({ name: "baton_concurrency_slots", help: "Slots of each concurrency limit (its size)", labelNames: ["limit"], registers });
    this.transitions = new Counter({ name: "baton_flow_run_transitions_total", help: "Flow runs entering each state (created in it, or moved to it) through this server process", labelNames: ["flow", "state"], registers });
    this.flowRunDuration = new Histogram({ name: "baton_flow_run_duration_seconds", help: "Flow runs' time from first start to their end, observed as they end through this server process", labelNames: ["flow", "state"], buckets: SECONDS_RUN, registers });
    this.pickup = new Histogram({ name: "baton_flow_run_pickup_latency_seconds", help: "Time from a flow run's expected start to its first Running, observed through this server process", labelNames: ["work_pool"], buckets: SECONDS_PICKUP, registers });
    this.tasksEnded = new Counter({ name: "baton_task_runs_ended_total", help: "Task runs written in a final state by the write batches this server applied (remote flows)", labelNames: ["state"], registers });
    this.taskDuration = new Histogram({ name: "baton_task_run_duration_seconds", help: "Task runs' time from start to end, from the write batches this server applied", labelNames: ["state"], buckets: SECONDS_TASK, registers });
    this.commits = new Histogram({ name: "baton_store_commit_duration_seconds", help: "Time from the start of a store transaction or write batch to its commit, in this process", labelNames: ["kind"], buckets: SECONDS_FAST, registers });
    this.requests = new Histogram({ name: "baton_http_request_duration_seconds", help: "API requests' time to answer, by method, route pattern and status code", labelNames: ["method", "route", "status_code"], buckets: SECONDS_HTTP, registers });
  }

  committed(kind: "transaction" | "batch", seconds: number): void {
    this.commits.observe({ kind }, seconds);
  }

  flowRunsMoved(moves: readonly FlowRunMove[]): void {
    for (const move of moves) {
      this.transitions.inc({ flow: move.flowName, state: move.toName });
      if (TERMINAL_TYPES.has(move.toType) && move.startTime !== null) this.flowRunDuration.observe({ flow: move.flowName, state: move.toName }, Math.max(0, move.at - move.startTime) / 1000);
      // Its first start only (the start time is set then): a retry's start is not a pickup.
      if (move.toType === "RUNNING" && move.from !== "RUNNING" && move.startTime === move.at && move.expectedStartTime !== null)
        this.pickup.observe({ work_pool: move.workPool ?? "" }, Math.max(0, move.at - move.expectedStartTime) / 1000);
    }
  }

  taskRunsWritten(writes: readonly TaskRunWrite[]): void {
    for (const write of writes) {
      if (!TERMINAL_TYPES.has(write.stateType)) continue;
      this.tasksEnded.inc({ state: write.stateType });
      if (write.startTime !== null && write.endTime !== null) this.taskDuration.observe({ state: write.stateType }, Math.max(0, write.endTime - write.startTime) / 1000);
    }
  }

  /** Reads the gauges that come from the database: a few grouped queries, on indexed columns where the table grows. */
  async refresh(now = Date.now()): Promise<void> {
    const db = this.store.db;
    const [runs, tasks, queues, workers, limits] = await Promise.all([
      db
        .selectFrom("flow_runs")
        .innerJoin("flows", "flows.id", "flow_runs.flow_id")
        .select(["flows.name as flow", "flow_runs.state_name as state", (eb) => eb.fn.countAll<number | string>().as("n")])
        .groupBy(["flows.name", "flow_runs.state_name"])
        .execute(),
      db
        .selectFrom("task_runs")
        .select(["state_name as state", (eb) => eb.fn.countAll<number | string>().as("n")])
        .groupBy("state_name")
        .execute(),
      // flow_runs_pool_due (work_pool, state_type, scheduled_at) answers it.
      db
        .selectFrom("flow_runs")
        .select([
          "work_pool",
          sql<string>`coalesce(work_queue, 'default')`.as("queue"),
          (eb) => eb.fn.countAll<number | string>().as("n"),
          sql<number | string>`sum(case when scheduled_at <= ${now} then 1 else 0 end)`.as("due"),
          sql<number | string | null>`min(case when scheduled_at <= ${now} then scheduled_at end)`.as("oldest"),
        ])
        .where("work_pool", "is not", null)
        .where("state_type", "=", "SCHEDULED")
        .groupBy(["work_pool", sql`coalesce(work_queue, 'default')`])
        .execute(),
      db.selectFrom("workers").select(["id", "name", "pool_name", "run_limit", "heartbeat_at", "heartbeat_ms", "created_at"]).where("heartbeat_at", ">", now - WORKER_WINDOW_MS).execute(),
      db
        .selectFrom("concurrency_limits")
        .leftJoin("concurrency_leases", (join) => join.onRef("concurrency_leases.limit_name", "=", "concurrency_limits.name").on("concurrency_leases.expires_at", ">", now))
        .select(["concurrency_limits.name", "concurrency_limits.slot_limit", sql<number | string | null>`sum(concurrency_leases.slots)`.as("used")])
        .groupBy(["concurrency_limits.name", "concurrency_limits.slot_limit"])
        .execute(),
    ]);
    // Reset first: a flow, queue or limit that is gone must not keep its last value.
    this.flowRuns.reset();
    for (const r of runs) this.flowRuns.set({ flow: r.flow, state: r.state }, Number(r.n));
    this.taskRuns.reset();
    for (const r of tasks) this.taskRuns.set({ state: r.state }, Number(r.n));
    for (const gauge of [this.queueRuns, this.queueDue, this.queueLateness]) gauge.reset();
    for (const q of queues) {
      const labels = { work_pool: q.work_pool ?? "", work_queue: q.queue };
      this.queueRuns.set(labels, Number(q.n));
      this.queueDue.set(labels, Number(q.due));
      this.queueLateness.set(labels, q.oldest === null ? 0 : Math.max(0, now - Number(q.oldest)) / 1000);
    }
    this.workersOnline.reset();
    const online = new Map<string, number>();
    for (const w of workers) {
      const record = { id: w.id, name: w.name, poolName: w.pool_name, runLimit: w.run_limit, heartbeatAt: Number(w.heartbeat_at), heartbeatMs: w.heartbeat_ms === null ? null : Number(w.heartbeat_ms), createdAt: Number(w.created_at) };
      const status = workerStatus(record, now);
      online.set(w.pool_name, (online.get(w.pool_name) ?? 0) + (status.status === "online" ? 1 : 0));
    }
    for (const [pool, n] of online) this.workersOnline.set({ work_pool: pool }, n);
    this.slotsInUse.reset();
    this.slots.reset();
    for (const l of limits) {
      this.slots.set({ limit: l.name }, Number(l.slot_limit));
      this.slotsInUse.set({ limit: l.name }, Number(l.used ?? 0));
    }
  }
}

/**
 * Times every request by its route pattern (`/api/flow-runs/:id`), in callback style like the
 * server's other hooks: an async hook costs a promise per request.
 */
export function installRequestMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook("onResponse", (request, reply, done) => {
    // Unmatched paths share one label: a scanner's URLs must not grow the series.
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}

/** `GET /metrics`: hidden from the OpenAPI document (its answer is Prometheus text, not JSON). */
export function metricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get(METRICS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    await metrics.refresh();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
