/**
 * The sums behind `GET /api/usage` (services/usage.ts prices them): flow runs that ended in a
 * window, by UTC day, group, work pool and final state, and two figures of their task runs —
 * the compute of attempts that failed and were retried, and what failFast's cancellations did
 * not spend. Every statement starts from the runs that ended in the window (the
 * `flow_runs_end_time` index) and reaches task runs through their flow run (`task_runs`'
 * flow_run_id index): the cost follows the window, not the store's size.
 *
 * One SQL for both databases but for how a run's tags become rows (`TAG_ROWS`).
 */
import { sql, type Kysely, type RawBuilder } from "kysely";
import { TERMINAL_TYPES } from "../core/states.ts";
import type { Dialect } from "./dialect.ts";
import type { Database } from "./schema.ts";

/** How runs are grouped: the API's groups, or "none" (one group, for totals when tags repeat runs). */
export type UsageGrouping = "flow" | "deployment" | "pool" | "tag" | "none";

export interface UsageWindow {
  since: number;
  until: number;
  groupBy: UsageGrouping;
}

/** Runs of one (day, group, pool, final state). Times in ms. */
export interface UsageRunRow {
  day: number;
  group: string | null;
  pool: string | null;
  stateType: string;
  stateName: string;
  runs: number;
  wallMs: number;
  cpuMs: number;
  retriedWallMs: number;
  retriedCpuMs: number;
}

/** Task attempts that failed and were retried, in runs that did not themselves fail (theirs is counted whole). */
export interface UsageRetryRow {
  day: number;
  group: string | null;
  pool: string | null;
  retriedWallMs: number;
  retriedCpuMs: number;
}

/** Task runs failFast cancelled, and the wall time they did not spend (an estimate). */
export interface UsageSavedRow {
  day: number;
  group: string | null;
  cancelled: number;
  savedWallMs: number;
}

export interface UsageRows {
  runs: UsageRunRow[];
  retries: UsageRetryRow[];
  saved: UsageSavedRow[];
}

const DAY_MS = 86_400_000;

/** A run's tags as rows (`tg.value`), one per tag, or one null row for a run without tags. */
const TAG_ROWS: Record<Dialect, RawBuilder<unknown>> = {
  sqlite: sql`left join json_each(fr.tags) as tg on true`,
  postgres: sql`left join lateral jsonb_array_elements_text(fr.tags::jsonb) as tg(value) on true`,
};

function groupKey(groupBy: UsageGrouping): RawBuilder<unknown> {
  switch (groupBy) {
    case "flow":
      return sql`f.name`;
    case "deployment":
      return sql`d.name`;
    case "pool":
      return sql`fr.work_pool`;
    case "tag":
      return sql`tg.value`;
    case "none":
      return sql`cast(null as text)`;
  }
}

const num = (v: unknown): number => Number(v ?? 0);
const text = (v: unknown): string | null => (v == null ? null : String(v));

export async function readUsage(db: Kysely<Database>, dialect: Dialect, window: UsageWindow): Promise<UsageRows> {
  const terminal = sql.join([...TERMINAL_TYPES].map((t) => sql.lit(t)));
  const tags = window.groupBy === "tag" ? TAG_ROWS[dialect] : sql``;
  // The runs that ended in the window, one row per run and group (a run under each of its tags).
  // A run without measured wall time (its process died: Crashed; or older than 0023) counts the
  // time between its start and its end.
  const win = sql`win as (
    select fr.id, fr.flow_id, fr.work_pool, fr.state_type, fr.state_name, fr.end_time / ${sql.lit(DAY_MS)} as day,
      coalesce(fr.wall_ms, case when fr.start_time is not null then fr.end_time - fr.start_time else 0 end) as wall,
      coalesce(fr.cpu_user_ms, 0) + coalesce(fr.cpu_system_ms, 0) as cpu,
      coalesce(fr.retried_wall_ms, 0) as r_wall, coalesce(fr.retried_cpu_ms, 0) as r_cpu,
      ${groupKey(window.groupBy)} as grp
    from flow_runs fr join flows f on f.id = fr.flow_id left join deployments d on d.id = fr.deployment_id ${tags}
    where fr.end_time >= ${window.since} and fr.end_time < ${window.until} and fr.state_type in (${terminal})
  )`;

  const runs = await sql<Record<string, unknown>>`with ${win}
    select day, grp, work_pool, state_type, state_name, count(*) as runs, sum(wall) as wall, sum(cpu) as cpu, sum(r_wall) as r_wall, sum(r_cpu) as r_cpu
    from win group by day, grp, work_pool, state_type, state_name`.execute(db);

  const retries = await sql<Record<string, unknown>>`with ${win}
    select w.day, w.grp, w.work_pool, sum(t.retried_wall_ms) as r_wall, sum(coalesce(t.retried_cpu_ms, 0)) as r_cpu
    from win w join task_runs t on t.flow_run_id = w.id
    where w.state_type not in ('FAILED', 'CRASHED') and t.retried_wall_ms > 0
    group by w.day, w.grp, w.work_pool`.execute(db);

  // What a task run failFast cancelled would still have run: the mean wall time of the Completed
  // runs of the same flow and task key in the window, less what it ran before it was stopped.
  const saved = await sql<Record<string, unknown>>`with ${win},
    means as (
      select fr.flow_id, t.task_key, avg(t.wall_ms) as mean_wall
      from flow_runs fr join task_runs t on t.flow_run_id = fr.id
      where fr.end_time >= ${window.since} and fr.end_time < ${window.until} and t.state_type = 'COMPLETED' and t.wall_ms is not null
      group by fr.flow_id, t.task_key
    )
    select w.day, w.grp, count(*) as cancelled,
      sum(case when m.mean_wall > coalesce(t.wall_ms, 0) then m.mean_wall - coalesce(t.wall_ms, 0) else 0 end) as saved
    from win w join task_runs t on t.flow_run_id = w.id left join means m on m.flow_id = w.flow_id and m.task_key = t.task_key
    where t.state_type = 'CANCELLED' and t.state_message like 'failFast:%'
    group by w.day, w.grp`.execute(db);

  return {
    runs: runs.rows.map((r) => ({
      day: num(r.day),
      group: text(r.grp),
      pool: text(r.work_pool),
      stateType: String(r.state_type),
      stateName: String(r.state_name),
      runs: num(r.runs),
      wallMs: num(r.wall),
      cpuMs: num(r.cpu),
      retriedWallMs: num(r.r_wall),
      retriedCpuMs: num(r.r_cpu),
    })),
    retries: retries.rows.map((r) => ({ day: num(r.day), group: text(r.grp), pool: text(r.work_pool), retriedWallMs: num(r.r_wall), retriedCpuMs: num(r.r_cpu) })),
    saved: saved.rows.map((r) => ({ day: num(r.day), group: text(r.grp), cancelled: num(r.cancelled), savedWallMs: num(r.saved) })),
  };
}
