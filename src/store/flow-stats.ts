/**
 * The figures of the dashboard's flows list and flow page, computed by the database over every
 * run of the window (the same SQL on SQLite and PostgreSQL).
 *
 * Each statement reads the runs of one flow, or of every flow in the window, through the
 * `flow_runs_flow_created` index (flow_id, created_at): a flow's newest run is one index probe
 * per flow (a correlated subquery ordered by created_at, limit 1), not a sort of its runs; its
 * window is a range of that index. Percentiles are nearest-rank, as the overview's
 * (server/routes/stats.ts): the p-th of n sorted durations is the smallest whose rank r has
 * 100·r >= p·n.
 */
import { sql, type Kysely } from "kysely";
import { DURATION_POINTS, type FlowDetail, type FlowFigures, type FlowRunBrief, type FlowSummary } from "../schemas/flow-stats.ts";
import type { FlowRecord } from "../schemas/flow.ts";
import { flowFromRow } from "./rows.ts";
import type { Database } from "./schema.ts";

/** The most flows the list answers. */
const MAX_FLOWS = 1000;

const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

interface BriefRow {
  id: string;
  name: string;
  state_type: string;
  state_name: string;
  created_at: number | string;
  start_time: number | string | null;
  end_time: number | string | null;
}

const brief = (r: BriefRow): FlowRunBrief => ({
  id: r.id,
  name: r.name,
  stateType: r.state_type,
  stateName: r.state_name,
  createdAt: num(r.created_at),
  startTime: numOrNull(r.start_time),
  endTime: numOrNull(r.end_time),
});

interface FiguresRow {
  runs: number | string;
  completed: number | string | null;
  finished: number | string | null;
}

function figures(r: FiguresRow | undefined): FlowFigures {
  const finished = num(r?.finished);
  const completed = num(r?.completed);
  return { runs: num(r?.runs), finished, completed, successRate: finished ? completed / finished : null };
}

const counted = sql`count(fr.id) as runs,
  sum(case when fr.state_type = 'COMPLETED' then 1 else 0 end) as completed,
  sum(case when fr.state_type in ('COMPLETED', 'FAILED', 'CRASHED') then 1 else 0 end) as finished`;

/** Every flow (by name) with its figures since `since` and its newest run; `deployments` empty (the caller knows them). */
export async function flowSummaries(db: Kysely<Database>, since: number): Promise<FlowSummary[]> {
  const [flows, lastRuns] = await Promise.all([
    sql<FiguresRow & { id: string; name: string; description: string | null; tags: string; created_at: number; updated_at: number }>`
      select f.id, f.name, f.description, f.tags, f.created_at, f.updated_at, ${counted}
      from flows f left join flow_runs fr on fr.flow_id = f.id and fr.created_at >= ${since}
      group by f.id, f.name, f.description, f.tags, f.created_at, f.updated_at
      order by f.name limit ${sql.lit(MAX_FLOWS)}`.execute(db),
    sql<BriefRow & { flow_id: string }>`
      select f.id as flow_id, fr.id, fr.name, fr.state_type, fr.state_name, fr.created_at, fr.start_time, fr.end_time
      from flows f join flow_runs fr on fr.id = (
        select r.id from flow_runs r where r.flow_id = f.id order by r.created_at desc, r.id desc limit 1
      )`.execute(db),
  ]);
  const last = new Map(lastRuns.rows.map((r) => [r.flow_id, brief(r)]));
  return flows.rows.map((f) => ({ flow: flowFromRow(f), ...figures(f), lastRun: last.get(f.id) ?? null, deployments: [] }));
}

/** One flow's figures since `since`, duration percentiles, newest run and latest durations; deployments and parameters left to the caller. */
export async function flowFigures(
  db: Kysely<Database>,
  flow: FlowRecord,
  since: number,
): Promise<Pick<FlowDetail, "runs" | "finished" | "completed" | "successRate" | "p50Ms" | "p95Ms" | "lastRun" | "durations">> {
  const [window, percentiles, newest, durations] = await Promise.all([
    sql<FiguresRow>`select ${counted} from flow_runs fr where fr.flow_id = ${flow.id} and fr.created_at >= ${since}`.execute(db),
    sql<{ p50: number | string | null; p95: number | string | null }>`
      select min(case when rn * 100 >= 50 * n then ms end) as p50, min(case when rn * 100 >= 95 * n then ms end) as p95
      from (
        select fr.end_time - fr.start_time as ms,
          row_number() over (order by fr.end_time - fr.start_time) as rn,
          count(*) over () as n
        from flow_runs fr
        where fr.flow_id = ${flow.id} and fr.created_at >= ${since} and fr.start_time is not null and fr.end_time is not null
      ) d`.execute(db),
    sql<BriefRow>`
      select fr.id, fr.name, fr.state_type, fr.state_name, fr.created_at, fr.start_time, fr.end_time
      from flow_runs fr where fr.flow_id = ${flow.id} order by fr.created_at desc, fr.id desc limit 1`.execute(db),
    sql<BriefRow>`
      select fr.id, fr.name, fr.state_type, fr.state_name, fr.created_at, fr.start_time, fr.end_time
      from flow_runs fr
      where fr.flow_id = ${flow.id} and fr.start_time is not null and fr.end_time is not null
      order by fr.created_at desc, fr.id desc limit ${sql.lit(DURATION_POINTS)}`.execute(db),
  ]);
  const p = percentiles.rows[0];
  return {
    ...figures(window.rows[0]),
    p50Ms: numOrNull(p?.p50),
    p95Ms: numOrNull(p?.p95),
    lastRun: newest.rows[0] ? brief(newest.rows[0]) : null,
    durations: durations.rows
      .map((r) => ({ id: r.id, name: r.name, stateType: r.state_type, startTime: num(r.start_time), durationMs: num(r.end_time) - num(r.start_time) }))
      .reverse(),
  };
}
