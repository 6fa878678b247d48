/**
 * Fills a Baton database with a large history, quickly: N flow runs (default 1,000,000) of 40
 * flows and 24 deployments over the last 30 days, 10 task runs each with their state histories,
 * and two log lines per run — in set-based SQL (PostgreSQL `generate_series`, SQLite a
 * recursive CTE), chunk by chunk, each chunk one transaction.
 *
 * Every value is a function of the run's number `i`, computed by the database: a hash of `i`
 * picks the flow, the deployment (runs of 24 of the 40 flows, 70% of them), the tags and the
 * final state (88% Completed, 6% Failed, 2.5% Crashed, 3.5% Cancelled); the newest 0.1% are
 * Running (with their first tasks done) or Scheduled (an hour ahead, no task runs yet). The
 * rows are those the app writes: `baton flow-run ls`, the API and the run page read them.
 *
 * Usage: tsx bench/seed-large.ts --url sqlite:///tmp/large.db|postgres://… [--runs N] [--chunk N]
 * The database is migrated first; seed an empty one (ids are deterministic).
 */
import Database from "better-sqlite3";
import pg from "pg";
import { openStore } from "../src/store/open.ts";
import { parseDatabaseUrl } from "../src/store/dialect.ts";
import { KyselyOrchestrationStore } from "../src/store/orchestration-store.ts";
import { opt } from "./support.ts";

const DAY = 86_400_000;
/** Task runs per flow run. */
export const TASKS_PER_RUN = 10;
export const FLOWS = 40;
export const DEPLOYMENTS = 24;
export const SEED_POOL = "seed-pool";
/** How far back the history goes, by default. */
export const SPAN = 30 * DAY;
const TASK_NAMES = ["extract", "transform", "load", "validate", "notify"];
const FLOW_WORDS = ["orders", "billing", "inventory", "users", "events", "reports", "search", "ml-train"];
const FLOW_KINDS = ["etl", "sync", "backfill", "export", "audit"];

/** The seeded flows' names, by index (flow i's id is `flowId(i)`). */
export const flowName = (f: number) => `${FLOW_KINDS[f % FLOW_KINDS.length]}-${FLOW_WORDS[Math.floor(f / FLOW_KINDS.length) % FLOW_WORDS.length]}`;
const fixedId = (variant: string, n: number) => `00000000-0000-7000-${variant}-${n.toString(16).padStart(12, "0")}`;
export const flowId = (f: number) => fixedId("8000", f);
export const deploymentId = (d: number) => fixedId("9000", d);
export const deploymentName = (d: number) => `${flowName(d)}/prod`;

type Dialect = "sqlite" | "postgres";

/** The SQL of one dialect for the expressions both need. */
function dialectSql(dialect: Dialect) {
  return {
    hex: (expr: string, width: number) => (dialect === "postgres" ? `lpad(to_hex(${expr}), ${width}, '0')` : `printf('%0${width}x', ${expr})`),
    /** Rows i in [$lo, $hi) as table g(i). */
    series: (lo: number, hi: number) =>
      dialect === "postgres" ? `generate_series(${lo}::bigint, ${hi - 1}::bigint) as g(i)` : `(with recursive s(i) as (select ${lo} union all select i + 1 from s where i < ${hi - 1}) select i from s) as g`,
    /** Rows k in [0, n) as table `name`(k). */
    small: (name: string, n: number) => (dialect === "postgres" ? `generate_series(0, ${n - 1}) as ${name}(k)` : `(select value as k from json_each('[${[...Array(n).keys()].join(",")}]')) as ${name}`),
  };
}

/**
 * The columns of run `i` (and of task `t.k` of it) as SQL expressions. `now` is the seed's
 * clock: run i was created at now − span + i × span / N (span: 30 days by default).
 */
function runExpressions(dialect: Dialect, runs: number, now: number, span: number) {
  const d = dialectSql(dialect);
  const recent = Math.max(2, Math.floor(runs / 1000));
  const created = `(${now - span} + (g.i * ${span}) / ${runs})`;
  const h = `((g.i * 2654435761) % 4294967296)`;
  const f = `((${h} / 256) % ${FLOWS})`;
  const hasDeployment = `(${f} < ${DEPLOYMENTS} and ${h} % 10 < 7)`;
  const code = `((${h} / 65536) % 1000)`;
  const isRecent = `(g.i >= ${runs - recent})`;
  const scheduled = `(${isRecent} and g.i % 2 = 1)`;
  const running = `(${isRecent} and g.i % 2 = 0)`;
  const type = `(case when ${scheduled} then 'SCHEDULED' when ${running} then 'RUNNING' when ${code} < 880 then 'COMPLETED' when ${code} < 940 then 'FAILED' when ${code} < 965 then 'CRASHED' else 'CANCELLED' end)`;
  const name = `(case when ${scheduled} then 'Scheduled' when ${running} then 'Running' when ${code} < 880 then 'Completed' when ${code} < 940 then 'Failed' when ${code} < 965 then 'Crashed' else 'Cancelled' end)`;
  const start = `(${created} + 500 + ${h} % 4000)`;
  const duration = `(1000 + (${h} / 16) % 600000)`;
  const end = `(${start} + ${duration})`;
  const id = (variant: string, n: string, at: string) => `(${d.hex(`${at} / 65536`, 8)} || '-' || ${d.hex(`${at} % 65536`, 4)} || '-7' || ${d.hex(`${n} % 4096`, 3)} || '-${variant}' || ${d.hex(`(${n} / 4096) % 4096`, 3)} || '-' || ${d.hex(n, 12)})`;
  const runId = id("8", "g.i", created);
  const fixed = (variant: string, n: string) => `('00000000-0000-7000-${variant}-' || ${d.hex(n, 12)})`;
  const taskCreated = `(${start} + t.k * (${duration} / ${TASKS_PER_RUN}))`;
  const taskStart = `(${taskCreated} + 10)`;
  const taskEnd = `(${taskCreated} + ${duration} / ${TASKS_PER_RUN} - 10)`;
  // The last task shares a failed, crashed or cancelled run's fate; a running run is halfway.
  const taskType = `(case when ${running} then (case when t.k < 5 then 'COMPLETED' when t.k = 5 then 'RUNNING' else 'PENDING' end) when t.k = ${TASKS_PER_RUN - 1} and ${type} <> 'COMPLETED' then ${type} else 'COMPLETED' end)`;
  const taskName = `(case when ${running} then (case when t.k < 5 then 'Completed' when t.k = 5 then 'Running' else 'Pending' end) when t.k = ${TASKS_PER_RUN - 1} and ${type} <> 'COMPLETED' then ${name} else 'Completed' end)`;
  const taskFinal = `(${taskType} in ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'))`;
  const names = (list: string[], expr: string) => `(case ${list.map((n, k) => `when ${expr} = ${k} then '${n}'`).join(" ")} end)`;
  const env = names(["prod", "staging", "dev"], `((${h} / 8) % 3)`);
  return {
    created, h, f, hasDeployment, type, name, start, end, scheduled, running, runId, taskCreated, taskStart, taskEnd, taskType, taskName, taskFinal,
    flowId: fixed("8000", f),
    deploymentId: `(case when ${hasDeployment} then ${fixed("9000", f)} end)`,
    taskId: id("9", `(g.i * 16 + t.k)`, taskCreated),
    tags: `('["' || ${env} || '","team-' || ((${h} / 1024) % 5) || '"]')`,
    taskKey: `(${names(TASK_NAMES, `(t.k % ${TASK_NAMES.length})`)} || '-' || t.k)`,
    taskLabel: names(TASK_NAMES, `(t.k % ${TASK_NAMES.length})`),
    error: `(case when ${type} = 'FAILED' then '{"name":"Error","message":"task ${TASK_NAMES[(TASKS_PER_RUN - 1) % TASK_NAMES.length]}-${TASKS_PER_RUN - 1} failed: upstream returned 503"}' when ${type} = 'CRASHED' then '{"name":"CrashedError","message":"the process stopped sending heartbeats"}' end)`,
  };
}

/** The statements that insert runs [lo, hi): flow runs, their states and logs, task runs and theirs. */
function chunkStatements(dialect: Dialect, runs: number, now: number, span: number, lo: number, hi: number): { table: string; sql: string }[] {
  const d = dialectSql(dialect);
  const e = runExpressions(dialect, runs, now, span);
  const g = d.series(lo, hi);
  const finalRun = `${e.type} in ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED')`;
  return [
    {
      table: "flow_runs",
      sql: `insert into flow_runs (id, flow_id, name, parent_flow_run_id, parent_task_run_id, state_type, state_name, state_message, state_timestamp, scheduled_at, parameters, tags, run_count, created_at, start_time, end_time, heartbeat_at, heartbeat_ms, result_id, error, version, entrypoint, deployment_id, work_pool, work_queue, worker_id, expected_start_time, job_variables, retries_used)
        select ${e.runId}, ${e.flowId}, 'run-' || g.i, null, null, ${e.type}, ${e.name}, null,
          case when ${e.scheduled} then ${e.created} when ${e.running} then ${e.start} else ${e.end} end,
          case when ${e.scheduled} then ${e.created} + 3600000 end,
          '{"day":' || ((${e.created}) / ${DAY}) || ',"batch":' || (${e.h} % 100) || '}', ${e.tags},
          case when ${e.scheduled} then 0 else 1 end, ${e.created},
          case when ${e.scheduled} then null else ${e.start} end,
          case when ${finalRun} then ${e.end} end,
          case when ${e.running} then ${e.start} end, case when ${e.running} then 3600000 end,
          null, ${e.error}, null, 'flows/pipelines.ts:' || ${e.f},
          ${e.deploymentId}, case when ${e.hasDeployment} then '${SEED_POOL}' end, case when ${e.hasDeployment} then 'default' end, null,
          case when ${e.hasDeployment} then ${e.created} end, null, 0
        from ${g}`,
    },
    {
      table: "states (flow runs)",
      // Pending → Running → the final state; a scheduled run has its Scheduled state only.
      sql: `insert into states (flow_run_id, task_run_id, type, name, message, timestamp, scheduled_at)
        select ${e.runId}, null,
          case when ${e.scheduled} then 'SCHEDULED' when s.k = 0 then 'PENDING' when s.k = 1 then 'RUNNING' else ${e.type} end,
          case when ${e.scheduled} then 'Scheduled' when s.k = 0 then 'Pending' when s.k = 1 then 'Running' else ${e.name} end,
          null,
          case when ${e.scheduled} or s.k = 0 then ${e.created} when s.k = 1 then ${e.start} else ${e.end} end,
          case when ${e.scheduled} then ${e.created} + 3600000 end
        from ${g} cross join ${d.small("s", 3)}
        where (s.k = 0 or not ${e.scheduled}) and (s.k < 2 or ${finalRun})`,
    },
    {
      table: "logs",
      sql: `insert into logs (flow_run_id, task_run_id, level, message, timestamp, extra)
        select ${e.runId}, null, case when s.k = 1 and ${e.type} = 'FAILED' then 50 else 30 end,
          case when s.k = 0 then 'Starting flow run ''run-' || g.i || '''' else 'Flow run ended ' || ${e.name} end,
          case when s.k = 0 then ${e.start} else ${e.end} end, null
        from ${g} cross join ${d.small("s", 2)}
        where not ${e.scheduled} and (s.k = 0 or ${finalRun})`,
    },
    {
      table: "task_runs",
      sql: `insert into task_runs (id, flow_run_id, task_key, task_name, state_type, state_name, state_message, state_timestamp, scheduled_at, run_count, cache_key, result_id, error, tags, created_at, start_time, end_time)
        select ${e.taskId}, ${e.runId}, ${e.taskKey}, ${e.taskLabel}, ${e.taskType}, ${e.taskName}, null,
          case when ${e.taskFinal} then ${e.taskEnd} when ${e.taskType} = 'RUNNING' then ${e.taskStart} else ${e.taskCreated} end,
          null, case when ${e.taskType} = 'PENDING' then 0 else 1 end, null, null,
          case when ${e.taskType} in ('FAILED', 'CRASHED') then ${e.error} end, '[]', ${e.taskCreated},
          case when ${e.taskType} = 'PENDING' then null else ${e.taskStart} end,
          case when ${e.taskFinal} then ${e.taskEnd} end
        from ${g} cross join ${d.small("t", TASKS_PER_RUN)}
        where not ${e.scheduled}`,
    },
    {
      table: "states (task runs)",
      sql: `insert into states (flow_run_id, task_run_id, type, name, message, timestamp, scheduled_at)
        select ${e.runId}, ${e.taskId},
          case when s.k = 0 then 'PENDING' when s.k = 1 then 'RUNNING' else ${e.taskType} end,
          case when s.k = 0 then 'Pending' when s.k = 1 then 'Running' else ${e.taskName} end,
          null, case when s.k = 0 then ${e.taskCreated} when s.k = 1 then ${e.taskStart} else ${e.taskEnd} end, null
        from ${g} cross join ${d.small("t", TASKS_PER_RUN)} cross join ${d.small("s", 3)}
        where not ${e.scheduled} and (s.k = 0 or ${e.taskType} <> 'PENDING') and (s.k < 2 or ${e.taskFinal})`,
    },
  ];
}

/** Runs SQL text on the database, in transactions. */
interface Executor {
  exec(sql: string): Promise<number>;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function executor(url: string): Promise<Executor> {
  const parsed = parseDatabaseUrl(url);
  if (parsed.dialect === "sqlite") {
    const db = new Database(parsed.file);
    // A seed that dies is started again on a new file: no need to sync every commit.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144");
    return {
      exec: async (text) => db.prepare(text).run().changes,
      transaction: async (fn) => {
        db.exec("begin immediate");
        try {
          const out = await fn();
          db.exec("commit");
          return out;
        } catch (error) {
          db.exec("rollback");
          throw error;
        }
      },
      close: async () => {
        db.pragma("wal_checkpoint(TRUNCATE)");
        db.close();
      },
    };
  }
  const client = new pg.Client(parsed.url);
  await client.connect();
  await client.query("set synchronous_commit = off");
  return {
    exec: async (text) => (await client.query(text)).rowCount ?? 0,
    transaction: async (fn) => {
      await client.query("begin");
      try {
        const out = await fn();
        await client.query("commit");
        return out;
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    },
    close: () => client.end(),
  };
}

/** The flows, the work pool and the deployments the runs belong to, through the store. */
async function seedDefinitions(url: string, now: number): Promise<void> {
  const store = await openStore(url);
  try {
    const existing = await store.db.selectFrom("flow_runs").select("id").limit(1).executeTakeFirst();
    if (existing) throw new Error(`${url} already holds flow runs: seed an empty database`);
    await store.db
      .insertInto("flows")
      .values([...Array(FLOWS).keys()].map((f) => ({ id: flowId(f), name: flowName(f), description: `seeded flow ${f}`, tags: JSON.stringify([FLOW_KINDS[f % FLOW_KINDS.length]]), created_at: now - SPAN, updated_at: now - SPAN })))
      .execute();
    await new KyselyOrchestrationStore(store).upsertWorkPool({ name: SEED_POOL });
    await store.db
      .insertInto("deployments")
      .values(
        [...Array(DEPLOYMENTS).keys()].map((d) => ({
          id: deploymentId(d), name: deploymentName(d), flow_name: flowName(d), entrypoint: `flows/pipelines.ts:${d}`, description: null, version: null,
          tags: JSON.stringify(["prod"]), parameters: "{}", parameter_schema: null, work_pool: SEED_POOL, work_queue: "default", paused: 0, concurrency_limit: null,
          collision_strategy: "enqueue", retries: 0, retry_delay_ms: 0, job_variables: "{}", created_at: now - SPAN, updated_at: now - SPAN,
        })),
      )
      .execute();
  } finally {
    await store.close();
  }
}

export interface SeedOutcome {
  runs: number;
  rows: Record<string, number>;
  seconds: number;
}

/** Seeds `url` with `runs` flow runs; `log` gets progress lines. */
export async function seedLarge(url: string, runs: number, options: { chunk?: number; log?: (line: string) => void; now?: number; /** How far back the runs go (default 30 days). */ spanMs?: number } = {}): Promise<SeedOutcome> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now();
  const chunk = options.chunk ?? 20_000;
  const span = options.spanMs ?? SPAN;
  const dialect = parseDatabaseUrl(url).dialect;
  const started = performance.now();
  await seedDefinitions(url, now);
  const db = await executor(url);
  const rows: Record<string, number> = {};
  try {
    for (let lo = 0; lo < runs; lo += chunk) {
      const hi = Math.min(runs, lo + chunk);
      await db.transaction(async () => {
        for (const statement of chunkStatements(dialect, runs, now, span, lo, hi)) rows[statement.table] = (rows[statement.table] ?? 0) + (await db.exec(statement.sql));
      });
      const seconds = (performance.now() - started) / 1000;
      log(`${hi.toLocaleString("en")} / ${runs.toLocaleString("en")} flow runs, ${(rows.task_runs ?? 0).toLocaleString("en")} task runs (${seconds.toFixed(0)} s, ${Math.round(hi / seconds).toLocaleString("en")} runs/s)`);
    }
    // PostgreSQL's autovacuum would analyze the new tables soon; do it now so that a benchmark
    // right after the seed sees the plans a live database has. (SQLite: the app never runs
    // ANALYZE, so neither does the seed.)
    if (dialect === "postgres") {
      log("analyze…");
      await db.exec("analyze");
    }
  } finally {
    await db.close();
  }
  return { runs, rows, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = opt("url", "");
  if (!url) {
    console.error("usage: tsx bench/seed-large.ts --url sqlite:///path.db|postgres://… [--runs N] [--chunk N]");
    process.exit(2);
  }
  const runs = Number(opt("runs", "1000000"));
  const chunk = Number(opt("chunk", "20000"));
  if (!Number.isInteger(runs) || runs < 2) throw new TypeError(`--runs must be an integer >= 2, got ${opt("runs", "")}`);
  if (!Number.isInteger(chunk) || chunk < 1) throw new TypeError(`--chunk must be an integer >= 1, got ${opt("chunk", "")}`);
  const outcome = await seedLarge(url, runs, { chunk, log: (line) => console.error(line) });
  console.log(`seeded ${runs.toLocaleString("en")} flow runs in ${outcome.seconds.toFixed(1)} s: ${Object.entries(outcome.rows).map(([t, n]) => `${n.toLocaleString("en")} ${t}`).join(", ")}`);
}
