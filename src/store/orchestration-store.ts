/**
 * Deployments, work pools, workers and concurrency limits over Kysely (SQLite and PostgreSQL).
 * The two operations where concurrent callers race are written for it:
 *   - claimFlowRuns (see claims.ts): the pool row is locked, runs with FOR UPDATE SKIP LOCKED
 *     on PostgreSQL; SQLite serialises writers (BEGIN IMMEDIATE). Two workers never get the
 *     same run.
 *   - acquireSlots: the limit row is locked (FOR UPDATE) while its active slots are counted,
 *     so two holders never both take the last slot.
 * Creating, changing, pausing and deleting a deployment, pool, queue or limit appends its event
 * (core/resource-events.ts) in the same transaction: the change and its event commit together.
 */
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from "kysely";
import type { PoolPrices } from "../core/cost.ts";
import { newId } from "../core/ids.ts";
import { makeState } from "../core/states.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { NewEvent } from "../core/event-records.ts";
import { claimFlowRuns } from "./claims.ts";
import { createFlowRuns, transitionFlowRuns } from "./transitions/flow-runs.ts";
import { appendEvents } from "./transitions/event-log.ts";
import { appendAuditEntries } from "./audit-log.ts";
import type { NewAuditEntry } from "../core/audit-chain.ts";
import { changeOf, concurrencyLimitEvent, deploymentEvent, workPoolEvent, workQueueEvent } from "../core/resource-events.ts";
import type { ConcurrencyLeasesTable, Database, DeploymentsTable, SchedulesTable, WorkersTable, WorkPoolsTable, WorkQueuesTable } from "./schema.ts";
import type {
  ClaimedFlowRun,
  ConcurrencyLimit,
  Deployment,
  DeploymentInput,
  FlowRun,
  Lease,
  NewFlowRun,
  OrchestrationStore,
  ScheduleRecord,
  SchedulerStore,
  WorkerRecord,
  WorkerRegistration,
  WorkPool,
  WorkPoolInput,
  WorkQueue,
} from "./types.ts";

type Tx = Kysely<Database> | Transaction<Database>;

/**
 * Deletes the runs a deployment's schedules made that never started and are in one of `names`
 * (due after `after`, if given): the scheduler makes them again from the schedules in force.
 * Runs made by hand (no expected start time) and runs awaiting a retry stay.
 */
async function dropScheduledRuns(tx: Tx, deploymentId: string, which: { names: ("Scheduled" | "Late")[]; after?: number }): Promise<void> {
  let query = tx
    .deleteFrom("flow_runs")
    .where("deployment_id", "=", deploymentId)
    .where("state_name", "in", which.names)
    .where("start_time", "is", null)
    .where("expected_start_time", "is not", null);
  if (which.after !== undefined) query = query.where("scheduled_at", ">", which.after);
  await query.execute();
}

const json = <T>(text: string | null, fallback: T): T => (text == null ? fallback : (JSON.parse(text) as T));

function deploymentFromRow(row: Selectable<DeploymentsTable>, schedules: Selectable<SchedulesTable>[]): Deployment {
  return {
    id: row.id,
    name: row.name,
    flowName: row.flow_name,
    entrypoint: row.entrypoint,
    description: row.description,
    version: row.version,
    tags: json(row.tags, []),
    parameters: json(row.parameters, {}),
    parameterSchema: json(row.parameter_schema, null),
    workPool: row.work_pool,
    workQueue: row.work_queue,
    paused: Boolean(row.paused),
    concurrencyLimit: row.concurrency_limit == null ? null : Number(row.concurrency_limit),
    collisionStrategy: row.collision_strategy as Deployment["collisionStrategy"],
    retries: Number(row.retries),
    retryDelayMs: Number(row.retry_delay_ms),
    jobVariables: json(row.job_variables, {}),
    schedules: schedules.map(
      (s): ScheduleRecord => ({ id: s.id, deploymentId: s.deployment_id, spec: JSON.parse(s.spec) as ScheduleRecord["spec"], active: Boolean(s.active) }),
    ),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const queueFromRow = (q: Selectable<WorkQueuesTable>): WorkQueue => ({
  poolName: q.pool_name,
  name: q.name,
  priority: Number(q.priority),
  concurrencyLimit: q.concurrency_limit == null ? null : Number(q.concurrency_limit),
  paused: Boolean(q.paused),
});

const numOrNull = (v: number | null | undefined): number | null => (v == null ? null : Number(v));

/** A pool's price columns after `input` (a field left out keeps `before`'s; null clears it). */
function priceColumns(input: WorkPoolInput, before: PoolPrices | undefined): Pick<Insertable<WorkPoolsTable>, "cost_per_hour" | "cost_per_cpu_hour" | "cost_per_gpu_hour" | "gpus" | "currency"> {
  const pick = <K extends keyof PoolPrices>(key: K): PoolPrices[K] | null => (input[key] === undefined ? (before?.[key] ?? null) : (input[key] as PoolPrices[K]));
  return { cost_per_hour: pick("costPerHour"), cost_per_cpu_hour: pick("costPerCpuHour"), cost_per_gpu_hour: pick("costPerGpuHour"), gpus: pick("gpus"), currency: pick("currency") };
}

const poolFromRow = (p: Selectable<WorkPoolsTable>, queues: WorkQueue[]): WorkPool => ({
  name: p.name,
  type: p.type,
  paused: Boolean(p.paused),
  concurrencyLimit: p.concurrency_limit == null ? null : Number(p.concurrency_limit),
  jobVariables: json(p.job_variables, {}),
  allowEnv: json(p.allow_env, []),
  createdAt: Number(p.created_at),
  costPerHour: numOrNull(p.cost_per_hour),
  costPerCpuHour: numOrNull(p.cost_per_cpu_hour),
  costPerGpuHour: numOrNull(p.cost_per_gpu_hour),
  gpus: numOrNull(p.gpus),
  currency: p.currency ?? null,
  queues,
});

const workerFromRow = (r: Selectable<WorkersTable>): WorkerRecord => ({
  id: r.id,
  name: r.name,
  poolName: r.pool_name,
  runLimit: r.run_limit == null ? null : Number(r.run_limit),
  heartbeatAt: Number(r.heartbeat_at),
  heartbeatMs: r.heartbeat_ms == null ? null : Number(r.heartbeat_ms),
  createdAt: Number(r.created_at),
});

const leaseFromRow = (l: Selectable<ConcurrencyLeasesTable>): Lease => ({
  id: l.id,
  limitName: l.limit_name,
  holder: l.holder,
  slots: Number(l.slots),
  expiresAt: Number(l.expires_at),
});

export class KyselyOrchestrationStore implements OrchestrationStore, SchedulerStore {
  constructor(private readonly base: KyselyStore) {}

  private get db() {
    return this.base.db;
  }

  private get pg(): boolean {
    return this.base.dialect === "postgres";
  }

  /** Appends an orchestration object's event in the transaction of its change. */
  private emit(tx: Tx, event: NewEvent): Promise<void> {
    return appendEvents(tx, this.base, [event]);
  }

  // --- deployments ------------------------------------------------------------------------

  async upsertDeployment(input: DeploymentInput): Promise<Deployment> {
    const now = Date.now();
    await this.base.transaction(async (tx) => {
      const existing = await tx.selectFrom("deployments").select(["id", "paused"]).where("name", "=", input.name).executeTakeFirst();
      const id = existing?.id ?? newId();
      const row = {
        flow_name: input.flowName,
        entrypoint: input.entrypoint,
        description: input.description ?? null,
        version: input.version ?? null,
        tags: JSON.stringify(input.tags ?? []),
        parameters: JSON.stringify(input.parameters ?? {}),
        parameter_schema: input.parameterSchema ? JSON.stringify(input.parameterSchema) : null,
        work_pool: input.workPool ?? null,
        work_queue: input.workQueue ?? "default",
        // Re-deploying does not resume a paused deployment unless the caller says so.
        paused: input.paused === undefined ? Number(existing?.paused ?? 0) : input.paused ? 1 : 0,
        concurrency_limit: input.concurrencyLimit ?? null,
        collision_strategy: input.collisionStrategy ?? "enqueue",
        retries: input.retries ?? 0,
        retry_delay_ms: input.retryDelayMs ?? 0,
        job_variables: JSON.stringify(input.jobVariables ?? {}),
        updated_at: now,
      };
      if (existing) await tx.updateTable("deployments").set(row).where("id", "=", id).execute();
      else await tx.insertInto("deployments").values({ id, name: input.name, created_at: now, ...row }).execute();
      if (input.schedules) await this.replaceSchedules(tx, id, input.schedules, now);
      const paused = Boolean(row.paused);
      const change = changeOf(existing !== undefined, existing ? Boolean(existing.paused) : undefined, paused);
      await this.emit(tx, deploymentEvent(change, { id, name: input.name, flowName: input.flowName, workPool: row.work_pool, workQueue: row.work_queue, tags: input.tags ?? [], paused }, {}, now));
    });
    return (await this.getDeployment(input.name))!;
  }

  /**
   * Gives a deployment these schedules. Unchanged ones (same spec, in order, no new `active`)
   * are left alone, with their ids and pause state; otherwise the schedules are replaced (a
   * schedule whose spec was there keeps its pause state unless `active` is given) and the
   * future runs the old ones made go — only those still `Scheduled` and never started: a run
   * awaiting a retry, or one made by hand, stays. The scheduler makes the new ones.
   */
  private async replaceSchedules(tx: Tx, deploymentId: string, schedules: NonNullable<DeploymentInput["schedules"]>, now: number): Promise<void> {
    const current = await tx.selectFrom("schedules").selectAll().where("deployment_id", "=", deploymentId).orderBy("created_at").orderBy("id").execute();
    const activeOf = new Map(current.map((c) => [c.spec, Boolean(c.active)]));
    const wanted = schedules.map((s) => ({ spec: JSON.stringify(s.spec), active: s.active ?? activeOf.get(JSON.stringify(s.spec)) ?? true }));
    const unchanged = current.length === wanted.length && current.every((c, i) => c.spec === wanted[i]!.spec && Boolean(c.active) === wanted[i]!.active);
    if (unchanged) return;
    await tx.deleteFrom("schedules").where("deployment_id", "=", deploymentId).execute();
    if (wanted.length)
      await tx
        .insertInto("schedules")
        // created_at grows with the position: the schedules keep their order.
        .values(wanted.map((w, i) => ({ id: newId(), deployment_id: deploymentId, spec: w.spec, active: w.active ? 1 : 0, created_at: now + i })))
        .execute();
    await dropScheduledRuns(tx, deploymentId, { names: ["Scheduled"], after: now });
  }

  async getDeployment(idOrName: string): Promise<Deployment | undefined> {
    const row = await this.db
      .selectFrom("deployments")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
      .executeTakeFirst();
    if (!row) return undefined;
    const schedules = await this.db.selectFrom("schedules").selectAll().where("deployment_id", "=", row.id).orderBy("created_at").execute();
    return deploymentFromRow(row, schedules);
  }

  async listDeployments(): Promise<Deployment[]> {
    const rows = await this.db.selectFrom("deployments").selectAll().orderBy("name").execute();
    const schedules = await this.db.selectFrom("schedules").selectAll().orderBy("created_at").execute();
    return rows.map((r) => deploymentFromRow(r, schedules.filter((s) => s.deployment_id === r.id)));
  }

  async deleteDeployment(idOrName: string): Promise<boolean> {
    const deployment = await this.getDeployment(idOrName);
    if (!deployment) return false;
    await this.base.transaction(async (tx) => {
      await tx.deleteFrom("schedules").where("deployment_id", "=", deployment.id).execute();
      await tx.deleteFrom("flow_runs").where("deployment_id", "=", deployment.id).where("state_type", "=", "SCHEDULED").execute();
      await tx.deleteFrom("deployments").where("id", "=", deployment.id).execute();
      await this.emit(tx, deploymentEvent("deleted", deployment));
    });
    return true;
  }

  async setDeploymentPaused(idOrName: string, paused: boolean): Promise<Deployment | undefined> {
    const deployment = await this.getDeployment(idOrName);
    if (!deployment) return undefined;
    await this.base.transaction(async (tx) => {
      await tx.updateTable("deployments").set({ paused: paused ? 1 : 0, updated_at: Date.now() }).where("id", "=", deployment.id).execute();
      // The runs its schedules made and no worker took (Scheduled, or Late already) go; the
      // scheduler makes them again on resume. Runs triggered by hand wait for the resume.
      if (paused) await dropScheduledRuns(tx, deployment.id, { names: ["Scheduled", "Late"] });
      // Pausing a paused deployment changes nothing: no event.
      if (paused !== deployment.paused) await this.emit(tx, deploymentEvent(paused ? "paused" : "resumed", { ...deployment, paused }));
    });
    return { ...deployment, paused };
  }

  async setScheduleActive(deploymentIdOrName: string, scheduleId: string, active: boolean): Promise<Deployment | undefined> {
    const deployment = await this.getDeployment(deploymentIdOrName);
    if (!deployment || !deployment.schedules.some((s) => s.id === scheduleId)) return undefined;
    await this.base.transaction(async (tx) => {
      await tx.updateTable("schedules").set({ active: active ? 1 : 0 }).where("id", "=", scheduleId).execute();
      // Runs are not tied to one schedule: drop the future ones, the scheduler recreates those of
      // the schedules still active.
      if (!active) await dropScheduledRuns(tx, deployment.id, { names: ["Scheduled"], after: Date.now() });
      await this.emit(tx, deploymentEvent("updated", deployment, { schedule: { id: scheduleId, active } }));
    });
    return this.getDeployment(deployment.id);
  }

  async addSchedule(deploymentIdOrName: string, schedule: { spec: ScheduleRecord["spec"]; active: boolean }): Promise<ScheduleRecord | undefined> {
    const deployment = await this.getDeployment(deploymentIdOrName);
    if (!deployment) return undefined;
    const now = Date.now();
    const added: ScheduleRecord = { id: newId(), deploymentId: deployment.id, spec: schedule.spec, active: schedule.active };
    await this.base.transaction(async (tx) => {
      // created_at orders a deployment's schedules: the new one goes last.
      const last = await tx.selectFrom("schedules").select((eb) => eb.fn.max("created_at").as("at")).where("deployment_id", "=", deployment.id).executeTakeFirst();
      const createdAt = Math.max(now, Number(last?.at ?? 0) + 1);
      await tx.insertInto("schedules").values({ id: added.id, deployment_id: deployment.id, spec: JSON.stringify(added.spec), active: added.active ? 1 : 0, created_at: createdAt }).execute();
      await tx.updateTable("deployments").set({ updated_at: now }).where("id", "=", deployment.id).execute();
      await this.emit(tx, deploymentEvent("updated", deployment, { schedule: { id: added.id, change: "added", active: added.active } }, now));
    });
    return added;
  }

  async updateSchedule(deploymentIdOrName: string, scheduleId: string, schedule: { spec: ScheduleRecord["spec"]; active?: boolean }): Promise<ScheduleRecord | undefined> {
    const deployment = await this.getDeployment(deploymentIdOrName);
    const current = deployment?.schedules.find((s) => s.id === scheduleId);
    if (!deployment || !current) return undefined;
    const now = Date.now();
    const updated: ScheduleRecord = { ...current, spec: schedule.spec, active: schedule.active ?? current.active };
    await this.base.transaction(async (tx) => {
      await tx.updateTable("schedules").set({ spec: JSON.stringify(updated.spec), active: updated.active ? 1 : 0 }).where("id", "=", scheduleId).execute();
      await tx.updateTable("deployments").set({ updated_at: now }).where("id", "=", deployment.id).execute();
      // The future runs the old spec made go; the scheduler makes those of the new one.
      await dropScheduledRuns(tx, deployment.id, { names: ["Scheduled"], after: now });
      await this.emit(tx, deploymentEvent("updated", deployment, { schedule: { id: scheduleId, change: "updated", active: updated.active } }, now));
    });
    return updated;
  }

  async deleteSchedule(deploymentIdOrName: string, scheduleId: string): Promise<boolean> {
    const deployment = await this.getDeployment(deploymentIdOrName);
    if (!deployment || !deployment.schedules.some((s) => s.id === scheduleId)) return false;
    const now = Date.now();
    await this.base.transaction(async (tx) => {
      await tx.deleteFrom("schedules").where("id", "=", scheduleId).execute();
      await tx.updateTable("deployments").set({ updated_at: now }).where("id", "=", deployment.id).execute();
      await dropScheduledRuns(tx, deployment.id, { names: ["Scheduled"], after: now });
      await this.emit(tx, deploymentEvent("updated", deployment, { schedule: { id: scheduleId, change: "deleted" } }, now));
    });
    return true;
  }

  async scheduleRuns(deployment: Deployment, runs: readonly NewFlowRun[], audit?: (run: FlowRun) => NewAuditEntry): Promise<number> {
    if (runs.length === 0) return 0;
    const flowId = await this.base.upsertFlowId(deployment.flowName);
    // Once per slot (a unique index on deployment and slot decides); future slots wake the
    // pool's workers too, which set their timer for the earliest one. Only the runs made are
    // audited: a slot another scheduler took first is that one's entry.
    const rows = runs.map((run) => ({ flowId, deploymentName: deployment.name, run }));
    return this.base.transaction(async (tx) => {
      // Paused since the pass read it: no runs. On PostgreSQL the row's share lock orders this
      // against a pause, whose delete of the Scheduled runs then sees these.
      let current = tx.selectFrom("deployments").select("paused").where("id", "=", deployment.id);
      if (this.base.dialect === "postgres") current = current.forShare();
      const row = await current.executeTakeFirst();
      if (!row || row.paused) return 0;
      const created = await createFlowRuns(tx, this.base, rows, { skipSlotsTaken: true });
      if (audit) await appendAuditEntries(tx, this.base.dialect, created.map(audit));
      return created.length;
    });
  }

  async latestSlot(deploymentId: string): Promise<number | null> {
    // The unique index on (deployment_id, expected_start_time) answers it.
    const row = await this.base.db.selectFrom("flow_runs").select((eb) => eb.fn.max("expected_start_time").as("slot")).where("deployment_id", "=", deploymentId).executeTakeFirst();
    return row?.slot == null ? null : Number(row.slot);
  }

  async markLateRuns(now: number, lateAfterMs: number): Promise<string[]> {
    const late = makeState("Late", { timestamp: now, message: `not started ${Math.round(lateAfterMs / 1000)} s after its scheduled time` });
    return this.base.transaction(async (tx) => {
      const due = await tx
        .selectFrom("flow_runs")
        .select("id")
        .where("state_type", "=", "SCHEDULED")
        .where("state_name", "=", "Scheduled")
        .where("scheduled_at", "<", now - lateAfterMs)
        .execute();
      // The primitive locks and re-reads each run: one claimed or cancelled meanwhile is no
      // longer Scheduled, and the rules refuse to make it Late.
      const outcomes = await transitionFlowRuns(tx, this.base, due.map((r) => ({ id: r.id, state: late })), now);
      return due.map((r) => r.id).filter((id) => outcomes.get(id)?.accepted);
    });
  }

  // --- work pools, queues, workers ---------------------------------------------------------

  async upsertWorkPool(pool: WorkPoolInput): Promise<WorkPool> {
    const existing = await this.getWorkPool(pool.name);
    if (existing) {
      const updated = {
        type: pool.type ?? existing.type,
        paused: pool.paused ?? existing.paused,
        concurrencyLimit: pool.concurrencyLimit === undefined ? existing.concurrencyLimit : pool.concurrencyLimit,
      };
      await this.base.transaction(async (tx) => {
        await tx
          .updateTable("work_pools")
          .set({
            type: updated.type,
            paused: updated.paused ? 1 : 0,
            concurrency_limit: updated.concurrencyLimit,
            job_variables: JSON.stringify(pool.jobVariables ?? existing.jobVariables),
            allow_env: JSON.stringify(pool.allowEnv ?? existing.allowEnv),
            ...priceColumns(pool, existing),
          })
          .where("name", "=", pool.name)
          .execute();
        await this.emit(tx, workPoolEvent(changeOf(true, existing.paused, updated.paused), { name: pool.name, ...updated }));
      });
    } else {
      await this.base.transaction(async (tx) => {
        await tx
          .insertInto("work_pools")
          .values({
            name: pool.name,
            type: pool.type ?? "process",
            paused: pool.paused ? 1 : 0,
            concurrency_limit: pool.concurrencyLimit ?? null,
            job_variables: JSON.stringify(pool.jobVariables ?? {}),
            allow_env: JSON.stringify(pool.allowEnv ?? []),
            created_at: Date.now(),
            ...priceColumns(pool, undefined),
          })
          .execute();
        await tx.insertInto("work_queues").values({ pool_name: pool.name, name: "default", priority: 1, concurrency_limit: null, paused: 0 }).execute();
        await this.emit(tx, workPoolEvent("created", { name: pool.name, type: pool.type ?? "process", paused: pool.paused ?? false, concurrencyLimit: pool.concurrencyLimit ?? null }));
      });
    }
    return (await this.getWorkPool(pool.name))!;
  }

  async upsertWorkQueue(queue: { poolName: string; name: string; priority?: number; concurrencyLimit?: number | null; paused?: boolean }): Promise<WorkQueue> {
    return this.base.transaction(async (tx) => {
      const before = await tx.selectFrom("work_queues").selectAll().where("pool_name", "=", queue.poolName).where("name", "=", queue.name).executeTakeFirst();
      // A field left out keeps its value (pausing a queue keeps its priority and limit).
      const values = {
        priority: queue.priority ?? (before ? Number(before.priority) : 1),
        concurrency_limit: queue.concurrencyLimit === undefined ? (before?.concurrency_limit ?? null) : queue.concurrencyLimit,
        paused: queue.paused === undefined ? Number(before?.paused ?? 0) : queue.paused ? 1 : 0,
      };
      await tx
        .insertInto("work_queues")
        .values({ pool_name: queue.poolName, name: queue.name, ...values })
        .onConflict((oc) => oc.columns(["pool_name", "name"]).doUpdateSet(values))
        .execute();
      const row = await tx.selectFrom("work_queues").selectAll().where("pool_name", "=", queue.poolName).where("name", "=", queue.name).executeTakeFirstOrThrow();
      const saved = queueFromRow(row);
      await this.emit(tx, workQueueEvent(changeOf(before !== undefined, before ? Boolean(before.paused) : undefined, saved.paused), saved));
      return saved;
    });
  }

  async getWorkPool(name: string): Promise<WorkPool | undefined> {
    const row = await this.db.selectFrom("work_pools").selectAll().where("name", "=", name).executeTakeFirst();
    if (!row) return undefined;
    const queues = await this.db.selectFrom("work_queues").selectAll().where("pool_name", "=", name).orderBy("priority").orderBy("name").execute();
    return poolFromRow(row, queues.map(queueFromRow));
  }

  async listWorkPools(): Promise<WorkPool[]> {
    const rows = await this.db.selectFrom("work_pools").selectAll().orderBy("name").execute();
    const queues = (await this.db.selectFrom("work_queues").selectAll().orderBy("priority").orderBy("name").execute()).map(queueFromRow);
    return rows.map((r) => poolFromRow(r, queues.filter((q) => q.poolName === r.name)));
  }

  async deleteWorkPool(name: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const pool = await tx.selectFrom("work_pools").selectAll().where("name", "=", name).executeTakeFirst();
      if (!pool) return false;
      await tx.deleteFrom("work_queues").where("pool_name", "=", name).execute();
      await tx.deleteFrom("work_pools").where("name", "=", name).execute();
      await this.emit(tx, workPoolEvent("deleted", poolFromRow(pool, [])));
      return true;
    });
  }

  async deleteWorkQueue(poolName: string, queueName: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const row = await tx.selectFrom("work_queues").selectAll().where("pool_name", "=", poolName).where("name", "=", queueName).executeTakeFirst();
      if (!row) return false;
      await tx.deleteFrom("work_queues").where("pool_name", "=", poolName).where("name", "=", queueName).execute();
      await this.emit(tx, workQueueEvent("deleted", queueFromRow(row)));
      return true;
    });
  }

  async registerWorker(worker: WorkerRegistration): Promise<WorkerRecord> {
    const now = Date.now();
    const heartbeatMs = worker.heartbeatMs ?? null;
    await this.db
      .insertInto("workers")
      .values({ id: worker.id, name: worker.name, pool_name: worker.poolName, run_limit: worker.runLimit, heartbeat_at: now, heartbeat_ms: heartbeatMs, created_at: now })
      .onConflict((oc) => oc.column("id").doUpdateSet({ heartbeat_at: now, heartbeat_ms: heartbeatMs }))
      .execute();
    return { id: worker.id, name: worker.name, poolName: worker.poolName, runLimit: worker.runLimit, heartbeatAt: now, heartbeatMs, createdAt: now };
  }

  async heartbeatWorker(id: string, at: number): Promise<void> {
    await this.db.updateTable("workers").set({ heartbeat_at: at }).where("id", "=", id).execute();
  }

  async listWorkers(poolName?: string): Promise<WorkerRecord[]> {
    let query = this.db.selectFrom("workers").selectAll();
    if (poolName) query = query.where("pool_name", "=", poolName);
    const rows = await query.orderBy("heartbeat_at", "desc").limit(500).execute();
    return rows.map(workerFromRow);
  }

  async getWorker(id: string): Promise<WorkerRecord | undefined> {
    const row = await this.db.selectFrom("workers").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? workerFromRow(row) : undefined;
  }

  async claimFlowRuns(poolName: string, workerId: string, max: number, now: number): Promise<ClaimedFlowRun[]> {
    if (max <= 0) return [];
    return this.base.transaction((tx) => claimFlowRuns(tx, this.base, poolName, workerId, max, now));
  }

  async nextDueAt(poolName: string): Promise<number | null> {
    const row = await this.db
      .selectFrom("flow_runs")
      .select((eb) => eb.fn.min("scheduled_at").as("due"))
      .where("work_pool", "=", poolName)
      .where("state_type", "=", "SCHEDULED")
      .executeTakeFirst();
    return row?.due == null ? null : Number(row.due);
  }

  // --- concurrency limits ------------------------------------------------------------------

  async upsertConcurrencyLimit(limit: { name: string; limit: number; slotDecayPerSecond?: number | null }): Promise<ConcurrencyLimit> {
    const values = { slot_limit: limit.limit, slot_decay_per_second: limit.slotDecayPerSecond ?? null };
    await this.base.transaction(async (tx) => {
      const existed = await tx.selectFrom("concurrency_limits").select("name").where("name", "=", limit.name).executeTakeFirst();
      await tx
        .insertInto("concurrency_limits")
        .values({ name: limit.name, created_at: Date.now(), ...values })
        .onConflict((oc) => oc.column("name").doUpdateSet(values))
        .execute();
      await this.emit(tx, concurrencyLimitEvent(existed ? "updated" : "created", limit));
    });
    return (await this.getConcurrencyLimit(limit.name))!;
  }

  async listConcurrencyLimits(): Promise<ConcurrencyLimit[]> {
    const names = await this.db.selectFrom("concurrency_limits").select("name").orderBy("name").execute();
    return Promise.all(names.map(async (n) => (await this.getConcurrencyLimit(n.name))!));
  }

  async getConcurrencyLimit(name: string): Promise<ConcurrencyLimit | undefined> {
    const row = await this.db.selectFrom("concurrency_limits").selectAll().where("name", "=", name).executeTakeFirst();
    if (!row) return undefined;
    const now = Date.now();
    const leases = await this.db.selectFrom("concurrency_leases").selectAll().where("limit_name", "=", name).where("expires_at", ">", now).execute();
    return {
      name: row.name,
      limit: Number(row.slot_limit),
      slotDecayPerSecond: row.slot_decay_per_second == null ? null : Number(row.slot_decay_per_second),
      activeSlots: leases.reduce((n, l) => n + Number(l.slots), 0),
      holders: leases.map((l) => ({ leaseId: l.id, holder: l.holder, slots: Number(l.slots), expiresAt: Number(l.expires_at) })),
      createdAt: Number(row.created_at),
    };
  }

  async deleteConcurrencyLimit(name: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      await tx.deleteFrom("concurrency_leases").where("limit_name", "=", name).execute();
      const result = await tx.deleteFrom("concurrency_limits").where("name", "=", name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await this.emit(tx, concurrencyLimitEvent("deleted", { name }));
      return true;
    });
  }

  async resetConcurrencyLimit(name: string): Promise<void> {
    await this.base.transaction(async (tx) => {
      await tx.deleteFrom("concurrency_leases").where("limit_name", "=", name).execute();
      await this.emit(tx, concurrencyLimitEvent("reset", { name }));
    });
  }

  async acquireSlots(names: string[], holder: string, slots: number, ttlMs: number, now: number): Promise<Lease[] | null> {
    return this.base.transaction(async (tx) => {
      const leases: Lease[] = [];
      for (const name of [...new Set(names)].sort()) {
        // Sorted names: two holders wanting the same limits lock them in the same order.
        let limitQuery = tx.selectFrom("concurrency_limits").selectAll().where("name", "=", name);
        if (this.pg) limitQuery = limitQuery.forUpdate();
        const limit = await limitQuery.executeTakeFirst();
        if (!limit) continue; // no limit of that name: nothing to wait for
        await tx.deleteFrom("concurrency_leases").where("limit_name", "=", name).where("expires_at", "<=", now).execute();
        const used = await tx
          .selectFrom("concurrency_leases")
          .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("slots"), sql<number>`0`).as("used"))
          .where("limit_name", "=", name)
          .executeTakeFirstOrThrow();
        if (Number(used.used) + slots > Number(limit.slot_limit)) {
          if (slots > Number(limit.slot_limit)) throw new RangeError(`limit "${name}" has ${limit.slot_limit} slots; ${slots} can never be taken`);
          throw new SlotsUnavailable();
        }
        const decay = limit.slot_decay_per_second == null ? null : Number(limit.slot_decay_per_second);
        let expiresAt = now + ttlMs;
        if (decay) {
          // A rate limit is a leaky bucket (GCRA): each new slot frees itself 1/decay s after
          // the latest one of the limit does (or after now, if none is held). Taking slots
          // then never sustains more than `decay` per second, in bursts of at most the limit.
          const latest = await tx.selectFrom("concurrency_leases").select((eb) => eb.fn.max("expires_at").as("at")).where("limit_name", "=", name).executeTakeFirst();
          expiresAt = Math.max(now, Number(latest?.at ?? 0)) + Math.ceil((slots * 1000) / decay);
        }
        const lease = { id: newId(), limit_name: name, holder, slots, expires_at: expiresAt, created_at: now };
        await tx.insertInto("concurrency_leases").values(lease).execute();
        leases.push(leaseFromRow(lease));
      }
      return leases;
    }).catch((error: unknown) => {
      if (error instanceof SlotsUnavailable) return null;
      throw error;
    });
  }

  async renewLeases(leaseIds: string[], ttlMs: number, now: number): Promise<string[]> {
    if (!leaseIds.length) return [];
    // Rate-limit leases decay on their own schedule and are not extended. A lease that expired
    // but is still there was not counted free by anyone (acquireSlots deletes expired leases
    // before counting), so extending it is safe; one already deleted is reported lost.
    const decaying = this.db.selectFrom("concurrency_limits").select("name").where("slot_decay_per_second", "is not", null);
    const rows = await this.db
      .updateTable("concurrency_leases")
      .set({ expires_at: now + ttlMs })
      .where("id", "in", leaseIds)
      .where("limit_name", "not in", decaying)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  async releaseLeases(leaseIds: string[]): Promise<void> {
    if (!leaseIds.length) return;
    const decaying = this.db.selectFrom("concurrency_limits").select("name").where("slot_decay_per_second", "is not", null);
    await this.db.deleteFrom("concurrency_leases").where("id", "in", leaseIds).where("limit_name", "not in", decaying).execute();
  }
}

/** Thrown inside the acquire transaction to roll it back when a limit is full. */
class SlotsUnavailable extends Error {}
