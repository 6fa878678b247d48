/**
 * Claiming due flow runs for a worker, in one transaction.
 *
 * Which runs a pool may hand out is decided in SQL, over every due run of the pool, so that
 * runs that cannot start never crowd out those that can:
 *   1. due runs of the pool whose queue and deployment are not paused;
 *   2. of those, per deployment with a limit, only as many as it has free slots (first in
 *      queue-priority, then due-time order);
 *   3. of those, per queue with a limit, only as many as it has free slots;
 *   4. in queue-priority, then due-time order, at most as many as the worker (and the pool's
 *      limit) has room for.
 * A deployment's run that step 3 holds back still counts in step 2; that matters only for a
 * deployment whose runs sit in several queues, and only until the full queue has room again.
 *
 * PostgreSQL: the pool row is locked first (claims of one pool take turns, so the loads counted
 * above cannot change under us) and the chosen runs with FOR UPDATE SKIP LOCKED, re-checking that
 * they are still Scheduled; SQLite serialises writers (BEGIN IMMEDIATE). Either way two workers
 * never get the same run.
 *
 * Collision strategy `cancel-new`: after the claim, the due runs of such deployments that are at
 * their limit (counting the runs just claimed) end Cancelled instead of waiting.
 *
 * Job variables: a claimed run is handed out with the env it will start with (pool ← deployment
 * ← run), checked here against the pool's `allowEnv` in the same transaction that reads them
 * (core/job-variables.ts). The API refuses such variables already; a run that carries one
 * anyway — a row written into the database directly, a pool's allowEnv narrowed since — ends
 * Failed, naming the variable, instead of being handed to a worker. Here rather than in the
 * worker: every worker, local or behind the API, gets its runs from this function, and the
 * check reads the pool's allowEnv as it is now.
 */
import { sql } from "kysely";
import { mergeJobVariables, refusedEnvName, runtimeEnvReason, type JobVariables } from "../core/job-variables.ts";
import { makeState } from "../core/states.ts";
import { transitionFlowRuns, type FlowRunRow } from "./transitions/flow-runs.ts";
import type { TransitionHost, Tx } from "./transitions/host.ts";
import type { ClaimedFlowRun } from "./types.ts";
import { namedStatement } from "./pg-named.ts";

const ACTIVE = sql`('PENDING', 'RUNNING', 'CANCELLING')`;

type ClaimableRow = FlowRunRow & { deployment_job_variables: string | null };

/**
 * The runs a pool may hand out now, best first (steps 1-4 above), with what starting them needs:
 * one statement, locking the chosen rows on PostgreSQL (FOR UPDATE SKIP LOCKED, re-checking
 * they are still Scheduled), where it took four (ids, rows, deployments, the transition's read)
 * — each a round trip inside the claim's transaction, which holds the pool's lock.
 */
async function claimableRows(tx: Tx, pg: boolean, poolName: string, now: number, max: number, poolLimit: number | null): Promise<ClaimableRow[]> {
  // The pool's room is counted in this statement, after the pool's lock was taken: a count in the
  // statement that waited for the lock would see the runs as they were before the wait.
  const limit = poolLimit === null ? sql`${max}` : sql`(select case when n < 0 then 0 when n > ${max} then ${max} else n end from (select ${poolLimit} - count(*) as n from active) room)`;
  const query = sql<ClaimableRow>`
    with active as (
      select coalesce(work_queue, 'default') as queue, deployment_id
      from flow_runs
      where work_pool = ${poolName} and state_type in ${ACTIVE}
    ),
    queue_load as (select queue, count(*) as n from active group by queue),
    deployment_load as (select deployment_id, count(*) as n from active where deployment_id is not null group by deployment_id),
    due as (
      select r.id, r.deployment_id, coalesce(r.work_queue, 'default') as queue, r.created_at,
             coalesce(q.priority, 1) as priority,
             coalesce(r.scheduled_at, r.created_at) as due_at,
             q.concurrency_limit - coalesce(ql.n, 0) as queue_room,
             d.concurrency_limit - coalesce(dl.n, 0) as deployment_room
      from flow_runs r
      left join work_queues q on q.pool_name = r.work_pool and q.name = coalesce(r.work_queue, 'default')
      left join deployments d on d.id = r.deployment_id
      left join queue_load ql on ql.queue = coalesce(r.work_queue, 'default')
      left join deployment_load dl on dl.deployment_id = r.deployment_id
      where r.work_pool = ${poolName}
        and r.state_type = 'SCHEDULED'
        and (r.scheduled_at is null or r.scheduled_at <= ${now})
        and coalesce(q.paused, 0) = 0
        and coalesce(d.paused, 0) = 0
    ),
    deployment_ranked as (
      select due.*, row_number() over (partition by deployment_id order by priority, due_at, created_at, id) as deployment_rank
      from due
    ),
    deployment_ok as (
      select * from deployment_ranked where deployment_room is null or deployment_rank <= deployment_room
    ),
    queue_ranked as (
      select deployment_ok.*, row_number() over (partition by queue order by due_at, created_at, id) as queue_rank
      from deployment_ok
    )
    select r.*, f.name as flow_name, d.name as deployment_name, d.job_variables as deployment_job_variables
    from queue_ranked c
    join flow_runs r on r.id = c.id
    join flows f on f.id = r.flow_id
    left join deployments d on d.id = r.deployment_id
    where (c.queue_room is null or c.queue_rank <= c.queue_room)
      and r.state_type = 'SCHEDULED'
    order by c.priority, c.due_at, c.created_at, c.id
    limit ${limit}
    ${pg ? sql`for update of r skip locked` : sql``}
  `.compile(tx);
  // Planning this query costs more than running it: on PostgreSQL it is planned once per connection.
  namedStatement(query.sql);
  const { rows } = await tx.executeQuery(query);
  return rows;
}

const jobVariables = (text: string | null | undefined): JobVariables | null => (text ? (JSON.parse(text) as JobVariables) : null);

/** A pool's allow_env; anything but a JSON list (a row written by other means) allows nothing. */
function allowedEnv(text: string): string[] {
  try {
    const list: unknown = JSON.parse(text);
    return Array.isArray(list) ? list.filter((entry): entry is string => typeof entry === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Claims up to `max` due runs of `poolName` for `workerId` (they become Pending), each with the
 * job variables to start it with: the pool's, under its deployment's, under its own.
 */
export async function claimFlowRuns(tx: Tx, host: TransitionHost, poolName: string, workerId: string, max: number, now: number): Promise<ClaimedFlowRun[]> {
  const pg = host.dialect === "postgres";
  let poolQuery = tx.selectFrom("work_pools").select(["paused", "concurrency_limit", "job_variables", "allow_env"]).where("name", "=", poolName);
  if (pg) poolQuery = poolQuery.forUpdate();
  const pool = await poolQuery.executeTakeFirst();
  if (!pool || pool.paused) return [];
  const rows = max > 0 ? await claimableRows(tx, pg, poolName, now, max, pool.concurrency_limit == null ? null : Number(pool.concurrency_limit)) : [];
  const allowEnv = allowedEnv(pool.allow_env);
  const starting: { row: ClaimableRow; merged: JobVariables }[] = [];
  for (const row of rows) {
    const layers = [jobVariables(pool.job_variables), jobVariables(row.deployment_job_variables), jobVariables(row.job_variables)] as const;
    const merged = mergeJobVariables(...layers);
    const refused = refusedEnvName(merged.env, allowEnv);
    if (refused === null) starting.push({ row, merged });
    else await refuseEnv(tx, host, row.id, poolName, refused, ["work pool", "deployment", "run"][layers.findLastIndex((l) => l?.env && refused in l.env)]!, now);
  }
  const claimed: ClaimedFlowRun[] = [];
  if (starting.length) {
    const outcomes = await transitionFlowRuns(
      tx,
      host,
      starting.map(({ row }) => ({ id: row.id, state: makeState("Pending", { timestamp: now, message: `claimed by worker ${workerId}` }), fields: { workerId } })),
      now,
      new Map(starting.map(({ row }) => [row.id, row])),
    );
    for (const { row, merged } of starting) {
      const outcome = outcomes.get(row.id);
      if (outcome?.accepted) claimed.push({ ...outcome.run, jobVariables: merged });
    }
  }
  await cancelCollisions(tx, host, poolName, now);
  return claimed;
}

/**
 * A due run whose job variables set `name`, which its pool does not allow, ends Failed without
 * starting (`layer` says whose job variables set it: the run's, its deployment's or the pool's).
 */
async function refuseEnv(tx: Tx, host: TransitionHost, runId: string, poolName: string, name: string, layer: string, now: number): Promise<void> {
  const message =
    `not started: the ${layer}'s job variables set ${name}, and ${runtimeEnvReason(name)}; work pool "${poolName}" does not allow it ` +
    `(allow it with baton work-pool create ${poolName} --allow-env ${name})`;
  await transitionFlowRuns(tx, host, [{ id: runId, state: makeState("Failed", { timestamp: now, message }), fields: { error: { name: "BatonConfigError", message } } }], now);
}

/** Due runs of `cancel-new` deployments that are at their limit end Cancelled. */
async function cancelCollisions(tx: Tx, host: TransitionHost, poolName: string, now: number): Promise<void> {
  const query = sql<{ id: string; concurrency_limit: number }>`
    select r.id, d.concurrency_limit
    from flow_runs r
    join deployments d on d.id = r.deployment_id
    left join work_queues q on q.pool_name = r.work_pool and q.name = coalesce(r.work_queue, 'default')
    where r.work_pool = ${poolName}
      and r.state_type = 'SCHEDULED'
      and (r.scheduled_at is null or r.scheduled_at <= ${now})
      and d.collision_strategy = 'cancel-new'
      and d.paused = 0
      and coalesce(q.paused, 0) = 0
      and d.concurrency_limit is not null
      and d.concurrency_limit <= (select count(*) from flow_runs a where a.deployment_id = d.id and a.state_type in ${ACTIVE})
  `.compile(tx);
  namedStatement(query.sql); // every claim runs it, and it finds nothing almost always: plan it once
  const { rows } = await tx.executeQuery(query);
  const proposals = rows.map((row) => ({
    id: row.id,
    state: makeState("Cancelled", { timestamp: now, message: `the deployment already runs ${row.concurrency_limit} run(s) (collision strategy cancel-new)` }),
  }));
  await transitionFlowRuns(tx, host, proposals, now);
}
