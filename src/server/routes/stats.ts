/**
 * What the dashboard's overview shows, computed by the database over every run of the window
 * (not from a page of runs in the browser): runs per hour and state type, success rate and
 * duration percentiles per flow, late and crashed runs, recent failures; and workers with
 * their status decided on the server's clock. The flows list and a flow's page read their
 * figures the same way (store/flow-stats.ts).
 *
 * The SQL is the same on SQLite and PostgreSQL. Percentiles are nearest-rank: the p-th
 * percentile of n sorted durations is the one at rank ceil(p·n/100), found with
 * row_number() over the flow's durations as the smallest duration whose rank r has
 * 100·r >= p·n (integer arithmetic: no ceil(), which SQLite lacks without its math extension).
 * Bucket numbers are cast to integers: SQLite binds JavaScript numbers as reals, and its
 * division would otherwise leave fractions.
 */
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { ErrorInfo } from "../../core/errors.ts";
import { KyselyStore } from "../../store/kysely-store.ts";
import type { OrchestrationStore, Store } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { scheduleText } from "../../services/deployment-schedules.ts";
import { flowFigures, flowSummaries } from "../../store/flow-stats.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { FlowParamsSchema, type FlowParams } from "../../schemas/flow.ts";
import { FlowDetailSchema, FlowStatsQuerySchema, FlowSummaryListSchema, type FlowDetail, type FlowStatsQuery, type FlowSummaryList } from "../../schemas/flow-stats.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { STATS_LIST_LIMIT, StatsQuerySchema, StatsSchema, type RunRef, type Stats, type StatsQuery } from "../../schemas/stats.ts";
import { WorkerDetailSchema, WorkerStatusListSchema, type WorkerDetail, type WorkerStatus, type WorkerStatusList } from "../../schemas/worker.ts";
import { DEFAULT_WORKER_HEARTBEAT_MS, workerStatus } from "../../services/worker-status.ts";

const HOUR = 3600_000;
export { DEFAULT_WORKER_HEARTBEAT_MS, workerStatus };

interface RunRow {
  id: string;
  name: string;
  flow_name: string;
  state_name: string;
  at: number | string | null;
  state_message: string | null;
  error: string | null;
}

const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function runRef_(row: RunRow): RunRef {
  let message = row.state_message;
  if (row.error) {
    try {
      message = (JSON.parse(row.error) as ErrorInfo).message || message;
    } catch {
      // a stored error that is not JSON: keep the state's message
    }
  }
  return { id: row.id, name: row.name, flowName: row.flow_name, stateName: row.state_name, at: numOrNull(row.at), message };
}

/** The server's own database: statistics are SQL over it. */
function database(store: Store): KyselyStore {
  if (!(store instanceof KyselyStore)) throw new ApiError(501, "NOT_IMPLEMENTED", "statistics need the server's own database");
  return store;
}

export function statsRoutes(app: FastifyInstance, store: Store, orchestration: OrchestrationStore): void {
  const withWorkers = async (now: number): Promise<WorkerStatus[]> => (await orchestration.listWorkers()).map((w) => ({ ...w, ...workerStatus(w, now) }));

  app.get<{ Querystring: StatsQuery; Reply: Stats }>(
    "/api/stats",
    {
      schema: {
        tags: ["stats"],
        summary: "Overview of a window of hours: runs per hour and state type, per-flow success rate and duration p50/p95, late, crashed and failed runs, workers",
        querystring: jsonSchema(StatsQuerySchema),
        response: { 200: jsonSchema(StatsSchema), ...errorResponses(400, 501) },
      },
    },
    async (request) => {
      const db = database(store).db;
      const now = Date.now();
      const hours = request.query.hours ?? 24;
      // Whole hours, the current one last: bucket i covers [since + i h, since + (i+1) h).
      const since = Math.floor(now / HOUR) * HOUR - (hours - 1) * HOUR;
      const runs = sql`flow_runs fr join flows f on f.id = fr.flow_id`;
      const runColumns = sql`fr.id, fr.name, f.name as flow_name, fr.state_name, fr.state_message, fr.error`;

      const [buckets, flows, durations, late, lateCount, crashed, failures, workers] = await Promise.all([
        sql<{ bucket: number | string; state_type: string; n: number | string }>`
          select cast((fr.created_at - ${since}) / ${sql.lit(HOUR)} as bigint) as bucket, fr.state_type, count(*) as n
          from flow_runs fr where fr.created_at >= ${since}
          group by bucket, fr.state_type`.execute(db),
        sql<{ flow_name: string; runs: number | string; completed: number | string; finished: number | string }>`
          select f.name as flow_name, count(*) as runs,
            sum(case when fr.state_type = 'COMPLETED' then 1 else 0 end) as completed,
            sum(case when fr.state_type in ('COMPLETED', 'FAILED', 'CRASHED') then 1 else 0 end) as finished
          from ${runs} where fr.created_at >= ${since}
          group by f.name order by runs desc, f.name limit 100`.execute(db),
        sql<{ flow_name: string; p50: number | string | null; p95: number | string | null }>`
          select flow_name,
            min(case when rn * 100 >= 50 * n then ms end) as p50,
            min(case when rn * 100 >= 95 * n then ms end) as p95
          from (
            select f.name as flow_name, fr.end_time - fr.start_time as ms,
              row_number() over (partition by f.name order by fr.end_time - fr.start_time) as rn,
              count(*) over (partition by f.name) as n
            from ${runs}
            where fr.created_at >= ${since} and fr.start_time is not null and fr.end_time is not null
          ) d
          group by flow_name`.execute(db),
        sql<RunRow>`
          select ${runColumns}, coalesce(fr.expected_start_time, fr.scheduled_at) as at
          from ${runs} where fr.state_name = 'Late'
          order by at, fr.id limit ${sql.lit(STATS_LIST_LIMIT)}`.execute(db),
        sql<{ n: number | string }>`select count(*) as n from flow_runs where state_name = 'Late'`.execute(db),
        sql<RunRow>`
          select ${runColumns}, fr.state_timestamp as at
          from ${runs} where fr.state_type = 'CRASHED' and fr.created_at >= ${since}
          order by fr.state_timestamp desc, fr.id limit ${sql.lit(STATS_LIST_LIMIT)}`.execute(db),
        sql<RunRow>`
          select ${runColumns}, fr.state_timestamp as at
          from ${runs} where fr.state_type = 'FAILED' and fr.created_at >= ${since}
          order by fr.state_timestamp desc, fr.id limit 8`.execute(db),
        withWorkers(now),
      ]);

      const runsByBucket = buckets.rows.map((r) => ({ bucket: num(r.bucket), stateType: r.state_type, count: num(r.n) }));
      const byType = (type: string) => runsByBucket.filter((b) => b.stateType === type).reduce((a, b) => a + b.count, 0);
      const percentiles = new Map(durations.rows.map((d) => [d.flow_name, d]));
      return {
        now,
        since,
        bucketMs: HOUR,
        runsByBucket,
        totals: {
          runs: runsByBucket.reduce((a, b) => a + b.count, 0),
          failed: byType("FAILED"),
          crashed: byType("CRASHED"),
          running: byType("RUNNING"),
          late: num(lateCount.rows[0]?.n),
        },
        flows: flows.rows.map((f) => {
          const finished = num(f.finished);
          const completed = num(f.completed);
          const d = percentiles.get(f.flow_name);
          return { flowName: f.flow_name, runs: num(f.runs), finished, completed, successRate: finished ? completed / finished : null, p50Ms: numOrNull(d?.p50), p95Ms: numOrNull(d?.p95) };
        }),
        late: late.rows.map(runRef_),
        crashed: crashed.rows.map(runRef_),
        failures: failures.rows.map(runRef_),
        workers,
      };
    },
  );

  app.get<{ Querystring: FlowStatsQuery; Reply: FlowSummaryList }>(
    "/api/stats/flows",
    {
      schema: {
        tags: ["stats"],
        summary: "Every flow with its runs, success rate and newest run over a window of hours, and its deployments",
        querystring: jsonSchema(FlowStatsQuerySchema),
        response: { 200: jsonSchema(FlowSummaryListSchema), ...errorResponses(400, 501) },
      },
    },
    async (request) => {
      const since = Date.now() - (request.query.hours ?? 168) * HOUR;
      const [flows, deployments] = await Promise.all([flowSummaries(database(store).db, since), orchestration.listDeployments()]);
      return { since, items: flows.map((f) => ({ ...f, deployments: deployments.filter((d) => d.flowName === f.flow.name).map((d) => d.name) })) };
    },
  );

  app.get<{ Params: FlowParams; Querystring: FlowStatsQuery; Reply: FlowDetail }>(
    "/api/stats/flows/:id",
    {
      schema: {
        tags: ["stats"],
        summary: "A flow's page: its figures over a window of hours, duration percentiles, latest durations, deployments and their parameters' JSON Schema",
        params: jsonSchema(FlowParamsSchema),
        querystring: jsonSchema(FlowStatsQuerySchema),
        response: { 200: jsonSchema(FlowDetailSchema), ...errorResponses(400, 404, 501) },
      },
    },
    async (request) => {
      const db = database(store).db;
      const flow = await store.getFlow(request.params.id);
      if (!flow) throw notFound("flow", request.params.id);
      const since = Date.now() - (request.query.hours ?? 168) * HOUR;
      const [figures, all] = await Promise.all([flowFigures(db, flow, since), orchestration.listDeployments()]);
      const deployments = all.filter((d) => d.flowName === flow.name);
      const described = deployments.filter((d) => d.parameterSchema).sort((a, b) => b.updatedAt - a.updatedAt)[0];
      return {
        flow,
        since,
        ...figures,
        deployments: deployments.map((d) => ({
          id: d.id,
          name: d.name,
          paused: d.paused,
          workPool: d.workPool,
          workQueue: d.workQueue,
          scheduleText: d.schedules.map(scheduleText),
        })),
        parameterSchema: described?.parameterSchema ?? null,
        parameterSchemaFrom: described?.name ?? null,
      };
    },
  );

  app.get<{ Params: IdParams; Reply: WorkerDetail }>(
    "/api/workers/:id",
    {
      schema: {
        tags: ["work pools"],
        summary: "A worker with its status (online while its last heartbeat is younger than three heartbeat intervals, by the server's clock)",
        params: jsonSchema(IdParamsSchema),
        response: { 200: jsonSchema(WorkerDetailSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const worker = await orchestration.getWorker(request.params.id);
      if (!worker) throw notFound("worker", request.params.id);
      const now = Date.now();
      const { status, ageMs, heartbeatMs } = workerStatus(worker, now);
      return { ...worker, status, ageMs, intervalMs: heartbeatMs, now };
    },
  );

  app.get<{ Reply: WorkerStatusList }>(
    "/api/workers",
    {
      schema: {
        tags: ["work pools"],
        summary: "Workers with their status (online while their last heartbeat is younger than three heartbeat intervals, by the server's clock)",
        response: { 200: jsonSchema(WorkerStatusListSchema) },
      },
    },
    async () => {
      const now = Date.now();
      return { now, items: await withWorkers(now) };
    },
  );
}
