/**
 * The measurements of metric triggers (core/automation-metrics.ts), as SQL over `flow_runs`
 * that reads the same on SQLite and PostgreSQL. A percentile is two statements — a count, then
 * the value at the nearest rank (`ORDER BY … LIMIT 1 OFFSET rank`) — because SQLite has no
 * `percentile_cont`, and loading every duration of a busy window to sort it here would not
 * scale. The windows use the indexes of migration 0011 (end_time, expected_start_time).
 */
import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from "kysely";
import { p95Rank, type Measurement, type MetricTrigger } from "../core/automation-metrics.ts";
import type { Database } from "./schema.ts";
import type { Tx } from "./transitions/host.ts";

type RunsEb = ExpressionBuilder<Database, "flow_runs">;

/** The runs the trigger is about: its flow's or its deployment's, by name, or every run. */
function scope(eb: RunsEb, trigger: MetricTrigger): Expression<SqlBool> {
  if (trigger.flow !== null) return eb("flow_id", "in", eb.selectFrom("flows").select("id").where("name", "=", trigger.flow));
  if (trigger.deployment !== null) return eb("deployment_id", "in", eb.selectFrom("deployments").select("id").where("name", "=", trigger.deployment));
  return eb.lit(true);
}

const count = (row: { n: unknown } | undefined) => Number(row?.n ?? 0);

/** Failed and Crashed over Completed, Failed and Crashed runs that ended in the window; Cancelled runs neither passed nor failed. */
async function failureRate(db: Tx, trigger: MetricTrigger, from: number, to: number): Promise<{ value: number | null; runs: number }> {
  const row = await db
    .selectFrom("flow_runs")
    .select((eb) => [eb.fn.countAll().as("n"), eb.fn.sum<number>(eb.case().when("state_type", "in", ["FAILED", "CRASHED"]).then(1).else(0).end()).as("failed")])
    .where((eb) => eb.and([scope(eb, trigger), eb("end_time", ">", from), eb("end_time", "<=", to), eb("state_type", "in", ["COMPLETED", "FAILED", "CRASHED"])]))
    .executeTakeFirst();
  const runs = count(row);
  return { value: runs ? Number(row?.failed ?? 0) / runs : null, runs };
}

/** The 95th percentile of `value` (ms) among the rows `where` selects, in seconds. */
async function p95(db: Tx, value: RawBuilder<number>, where: (eb: RunsEb) => Expression<SqlBool>): Promise<{ value: number | null; runs: number }> {
  const runs = count(await db.selectFrom("flow_runs").select((eb) => eb.fn.countAll().as("n")).where(where).executeTakeFirst());
  if (!runs) return { value: null, runs };
  const row = await db.selectFrom("flow_runs").select(value.as("ms")).where(where).orderBy(value).limit(1).offset(p95Rank(runs)).executeTakeFirst();
  return { value: Number(row?.ms ?? 0) / 1000, runs };
}

/** What the trigger measures now, over the window ending at `now`. */
export async function measureMetric(db: Tx, trigger: MetricTrigger, now: number): Promise<Measurement> {
  const from = now - trigger.windowMs;
  const window = { metric: trigger.metric, windowStart: from, windowEnd: now };
  if (trigger.metric === "failure-rate") return { ...window, ...(await failureRate(db, trigger, from, now)) };
  if (trigger.metric === "p95-duration")
    return {
      ...window,
      ...(await p95(db, sql<number>`end_time - start_time`, (eb) =>
        eb.and([scope(eb, trigger), eb("state_type", "=", "COMPLETED"), eb("end_time", ">", from), eb("end_time", "<=", now), eb("start_time", "is not", null)]),
      )),
    };
  // A run still waiting to start is as late as it has been so far: a stuck pool shows up before its runs start.
  const late = await p95(db, sql<number>`coalesce(start_time, ${now}) - expected_start_time`, (eb) =>
    eb.and([
      scope(eb, trigger),
      eb("expected_start_time", ">", from),
      eb("expected_start_time", "<=", now),
      eb.or([eb("start_time", "is not", null), eb("state_type", "in", ["SCHEDULED", "PENDING"])]),
    ]),
  );
  // Started early is not negative lateness.
  return { ...window, runs: late.runs, value: late.value === null ? null : Math.max(0, late.value) };
}
