/**
 * Retention of flow runs: deletes runs in a final state (Completed, Failed, Cancelled, Crashed)
 * that ended before a cut-off, with everything they own — states, task runs, task dependencies,
 * logs, artifacts, pause inputs, logged parameters and metrics — in small transactions, so that
 * writers (runs reporting progress, the API) never wait long behind it on SQLite's single write
 * lock or on PostgreSQL's row locks.
 *
 * Each pass plans a batch outside any transaction (the oldest candidates and how many task
 * runs each has), packs runs up to a budget of task runs, then deletes them in one
 * transaction that reads their state again first: a run retried in between (Failed → Scheduled)
 * is no longer final and stays. On PostgreSQL that read locks the rows (FOR UPDATE SKIP LOCKED),
 * so a retry waits for the batch or the batch skips a run a retry holds. A run with more task
 * runs than one transaction should carry (a large fan-out) has its task runs deleted in chunks
 * first, each its own transaction, and then the run.
 *
 * Child flow runs are runs of their own: they stay and lose their parent link (as
 * `deleteFlowRun` does). Results and cache entries stay: a cached task run of a later flow run
 * shares its result row, and the cache lives by its own expiry. After a prune that deleted runs,
 * the result blobs nothing points at any more are collected (store/result-blobs.ts).
 */
import { sql, type Kysely } from "kysely";
import { TERMINAL_TYPES } from "../core/states.ts";
import type { KyselyStore } from "./kysely-store.ts";
import { deleteRunValues } from "./run-values.ts";
import { forgetAssetRuns } from "./asset-writes.ts";
import { collectResultBlobs, DEFAULT_BLOB_GRACE_MS } from "./result-blobs.ts";
import type { CollectableBlobStore } from "../core/result-storage.ts";
import type { Database } from "./schema.ts";

/** Task runs (with their states, logs and dependencies) one transaction deletes at most, and at first. */
export const TASK_RUNS_PER_TX = 1_000;
/** ...and at least, however slow the database. */
export const MIN_TASK_RUNS_PER_TX = 50;
/** Flow runs one transaction deletes at most. */
export const FLOW_RUNS_PER_TX = 200;
/** What a transaction should take (ms): the batch grows or shrinks towards it as the last ones took. */
export const TARGET_TX_MS = 20;
/**
 * The pause after a transaction is as long as it was (and at least this, ms): a writer of
 * another process waiting on SQLite's lock sleeps and retries (1, 2, 5, 10… ms); with no gap
 * it would keep missing the lock between two of ours.
 */
export const MIN_PAUSE_MS = 10;

export interface PruneCount {
  /** Flow runs that would be deleted. */
  flowRuns: number;
  /** Their task runs. */
  taskRuns: number;
}

export interface PruneOptions {
  /** Stop after about this many flow runs (the API's bounded calls); default: all. */
  maxFlowRuns?: number;
  /** Called after each transaction with the totals so far. */
  onProgress?: (deleted: PruneCount) => void;
  /** Stops between two transactions (the server closing). */
  signal?: AbortSignal;
}

export interface PruneOutcome extends PruneCount {
  /** Whether prunable runs remain (maxFlowRuns reached). */
  more: boolean;
}

type Tx = Kysely<Database>;

const FINAL = [...TERMINAL_TYPES];

/**
 * Prunable runs: final, ended before the cut-off, oldest first through the `flow_runs_end_time`
 * index (0013). `state_type || ''` keeps SQLite (which has no statistics) off the indexes that
 * lead with the state type: through `flow_runs_active_heartbeat` it read every Completed run of the
 * store and sorted them, for each batch (EXPLAIN QUERY PLAN on a million runs).
 */
function prunable(db: Tx, endedBefore: number) {
  return db.selectFrom("flow_runs").where("end_time", "<", endedBefore).where(sql<boolean>`(state_type || '') in (${sql.join(FINAL)})`);
}

export class KyselyRunRetention {
  /** Task runs the next transaction carries, adapted to how long the last took. */
  private budget = TASK_RUNS_PER_TX;

  constructor(
    private readonly base: KyselyStore,
    /** The result storage whose blobs no row points at any more are collected after a prune. */
    private readonly resultBlobs: CollectableBlobStore | null = null,
  ) {}

  /** What `prune` would delete now (a dry run). */
  async count(endedBefore: number): Promise<PruneCount> {
    const row = await prunable(this.base.db, endedBefore)
      .select((eb) => [eb.fn.countAll<number>().as("flow_runs"), eb.fn.coalesce(eb.fn.sum<number>(eb.selectFrom("task_runs").select(eb.fn.countAll<number>().as("n")).whereRef("task_runs.flow_run_id", "=", "flow_runs.id")), sql<number>`0`).as("task_runs")])
      .executeTakeFirstOrThrow();
    return { flowRuns: Number(row.flow_runs), taskRuns: Number(row.task_runs) };
  }

  /** Deletes the final runs that ended before `endedBefore` (epoch ms), transaction by transaction. */
  async prune(endedBefore: number, options: PruneOptions = {}): Promise<PruneOutcome> {
    const max = options.maxFlowRuns ?? Infinity;
    const done: PruneCount = { flowRuns: 0, taskRuns: 0 };
    let pauseMs = 0;
    while (done.flowRuns < max) {
      if (options.signal?.aborted) return { ...done, more: true };
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const plan = await this.plan(endedBefore, Math.min(FLOW_RUNS_PER_TX, max - done.flowRuns));
      if (!plan.length) {
        await this.collect();
        return { ...done, more: false };
      }
      const started = performance.now();
      const [head] = plan;
      if (plan.length === 1 && head!.tasks > this.budget) {
        // A large fan-out: its task runs go in chunks; the run itself with the last of them.
        done.taskRuns += await this.deleteTaskRunChunk(head!.id, endedBefore, this.budget);
      } else {
        const deleted = await this.deleteBatch(plan.map((p) => p.id), endedBefore);
        done.flowRuns += deleted.flowRuns;
        done.taskRuns += deleted.taskRuns;
      }
      const took = performance.now() - started;
      const factor = Math.min(2, Math.max(0.5, TARGET_TX_MS / Math.max(took, 1)));
      this.budget = Math.round(Math.min(TASK_RUNS_PER_TX, Math.max(MIN_TASK_RUNS_PER_TX, this.budget * factor)));
      pauseMs = Math.max(MIN_PAUSE_MS, took);
      options.onProgress?.({ ...done });
    }
    const left = await prunable(this.base.db, endedBefore).select("id").limit(1).executeTakeFirst();
    await this.collect();
    return { ...done, more: left !== undefined };
  }

  /** After a pass: result blobs that nothing points at any more (store/result-blobs.ts). */
  private async collect(): Promise<void> {
    if (this.resultBlobs) await collectResultBlobs(this.base, this.resultBlobs, { graceMs: this.blobGraceMs });
  }

  /** How long a blob is left alone after it was written (ms); tests shorten it. */
  blobGraceMs = DEFAULT_BLOB_GRACE_MS;

  /** The oldest candidates with their task-run counts, packed to about `budget` task runs (a run counts one more; at least one run). */
  private async plan(endedBefore: number, limit: number): Promise<{ id: string; tasks: number }[]> {
    const rows = await prunable(this.base.db, endedBefore)
      .select((eb) => ["id", eb.selectFrom("task_runs").select(eb.fn.countAll<number>().as("n")).whereRef("task_runs.flow_run_id", "=", "flow_runs.id").as("tasks")])
      .orderBy("end_time")
      .limit(limit)
      .execute();
    const packed: { id: string; tasks: number }[] = [];
    let tasks = 0;
    for (const row of rows) {
      const n = Number(row.tasks ?? 0);
      if (packed.length > 0 && tasks + n + 1 > this.budget) break;
      packed.push({ id: row.id, tasks: n });
      tasks += n + 1;
    }
    return packed;
  }

  /** The runs of `candidates` still final and ended before the cut-off, locked on PostgreSQL. */
  private async stillPrunable(tx: Tx, candidates: string[], endedBefore: number): Promise<string[]> {
    let query = prunable(tx, endedBefore).select("id").where("id", "in", candidates);
    if (this.base.dialect === "postgres") query = query.forUpdate().skipLocked();
    return (await query.execute()).map((r) => r.id);
  }

  /** One transaction: the runs and everything they own. */
  private deleteBatch(candidates: string[], endedBefore: number): Promise<PruneCount> {
    return this.base.transaction(
      async (tx) => {
        const ids = await this.stillPrunable(tx, candidates, endedBefore);
        if (!ids.length) return { flowRuns: 0, taskRuns: 0 };
        await tx.deleteFrom("states").where("flow_run_id", "in", ids).execute();
        await tx.deleteFrom("logs").where("flow_run_id", "in", ids).execute();
        await tx.deleteFrom("artifacts").where("flow_run_id", "in", ids).execute();
        await tx.deleteFrom("task_dependencies").where("flow_run_id", "in", ids).execute();
        await tx.deleteFrom("flow_run_inputs").where("flow_run_id", "in", ids).execute();
        await deleteRunValues(tx, ids);
        await forgetAssetRuns(tx, ids);
        await tx.updateTable("flow_runs").set({ parent_flow_run_id: null, parent_task_run_id: null }).where("parent_flow_run_id", "in", ids).execute();
        // Children started by their task runs (the partial index flow_runs_parent_task of 0019).
        await tx
          .updateTable("flow_runs")
          .set({ parent_flow_run_id: null, parent_task_run_id: null })
          .where("parent_task_run_id", "is not", null)
          .where("parent_task_run_id", "in", (eb) => eb.selectFrom("task_runs").select("id").where("flow_run_id", "in", ids))
          .execute();
        const tasks = await tx.deleteFrom("task_runs").where("flow_run_id", "in", ids).executeTakeFirst();
        await tx.deleteFrom("flow_runs").where("id", "in", ids).execute();
        return { flowRuns: ids.length, taskRuns: Number(tasks.numDeletedRows) };
      },
      { rerunnable: true },
    );
  }

  /** One transaction: up to `size` task runs of a run with more, with their states, logs and dependencies. */
  private deleteTaskRunChunk(flowRunId: string, endedBefore: number, size: number): Promise<number> {
    return this.base.transaction(
      async (tx) => {
        if (!(await this.stillPrunable(tx, [flowRunId], endedBefore)).length) return 0;
        const chunk = (await tx.selectFrom("task_runs").select("id").where("flow_run_id", "=", flowRunId).limit(size).execute()).map((r) => r.id);
        if (!chunk.length) return 0;
        await tx.deleteFrom("states").where("flow_run_id", "=", flowRunId).where("task_run_id", "in", chunk).execute();
        await tx.deleteFrom("logs").where("flow_run_id", "=", flowRunId).where("task_run_id", "in", chunk).execute();
        await tx
          .deleteFrom("task_dependencies")
          .where("flow_run_id", "=", flowRunId)
          .where((eb) => eb.or([eb("task_run_id", "in", chunk), eb("upstream_task_run_id", "in", chunk)]))
          .execute();
        await tx.updateTable("flow_runs").set({ parent_flow_run_id: null, parent_task_run_id: null }).where("parent_task_run_id", "is not", null).where("parent_task_run_id", "in", chunk).execute();
        const deleted = await tx.deleteFrom("task_runs").where("id", "in", chunk).executeTakeFirst();
        return Number(deleted.numDeletedRows);
      },
      { rerunnable: true },
    );
  }
}
