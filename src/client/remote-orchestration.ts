/**
 * The orchestration store over the Baton API: what workers and the CLI use in remote mode. The
 * scheduler's writes (`SchedulerStore`) are the server's: it schedules for its clients.
 */
import type {
  ClaimedFlowRun,
  ConcurrencyLimit,
  Deployment,
  DeploymentInput,
  Lease,
  OrchestrationStore,
  ScheduleRecord,
  WorkerRecord,
  WorkerRegistration,
  WorkPool,
  WorkPoolInput,
  WorkQueue,
} from "../store/types.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";
import { AcquireAnswerSchema, ConcurrencyLimitListSchema, ConcurrencyLimitSchema, RenewAnswerSchema } from "../schemas/concurrency-limit.ts";
import { DeploymentListSchema, DeploymentSchema, ScheduleSchema } from "../schemas/deployment.ts";
import { ClaimAnswerSchema, WorkerSchema } from "../schemas/worker.ts";
import { NextDueSchema, WorkPoolListSchema, WorkPoolSchema, WorkPoolWithWorkersSchema, WorkQueueSchema } from "../schemas/work-pool.ts";

const enc = encodeURIComponent;

export class RemoteOrchestrationStore implements OrchestrationStore {
  constructor(private readonly api: ApiClient) {}

  private async found(request: Promise<unknown>): Promise<boolean> {
    return (await orUndefined(request.then(() => true))) ?? false;
  }

  upsertDeployment(input: DeploymentInput): Promise<Deployment> {
    return this.api.request("POST", "/api/deployments", input, DeploymentSchema);
  }
  getDeployment(idOrName: string): Promise<Deployment | undefined> {
    return orUndefined(this.api.request("GET", `/api/deployments/${enc(idOrName)}`, undefined, DeploymentSchema));
  }
  async listDeployments(): Promise<Deployment[]> {
    return (await this.api.request("GET", "/api/deployments", undefined, DeploymentListSchema)).items;
  }
  deleteDeployment(idOrName: string): Promise<boolean> {
    return this.found(this.api.request("DELETE", `/api/deployments/${enc(idOrName)}`));
  }
  setDeploymentPaused(idOrName: string, paused: boolean): Promise<Deployment | undefined> {
    return orUndefined(this.api.request("POST", `/api/deployments/${enc(idOrName)}/${paused ? "pause" : "resume"}`, undefined, DeploymentSchema));
  }
  setScheduleActive(deploymentIdOrName: string, scheduleId: string, active: boolean): Promise<Deployment | undefined> {
    return orUndefined(this.api.request("POST", `/api/deployments/${enc(deploymentIdOrName)}/schedules/${enc(scheduleId)}/${active ? "resume" : "pause"}`, undefined, DeploymentSchema));
  }
  addSchedule(deploymentIdOrName: string, schedule: { spec: ScheduleRecord["spec"]; active: boolean }): Promise<ScheduleRecord | undefined> {
    return orUndefined(this.api.request("POST", `/api/deployments/${enc(deploymentIdOrName)}/schedules`, schedule, ScheduleSchema));
  }
  updateSchedule(deploymentIdOrName: string, scheduleId: string, schedule: { spec: ScheduleRecord["spec"]; active?: boolean }): Promise<ScheduleRecord | undefined> {
    return orUndefined(this.api.request("PUT", `/api/deployments/${enc(deploymentIdOrName)}/schedules/${enc(scheduleId)}`, schedule, ScheduleSchema));
  }
  deleteSchedule(deploymentIdOrName: string, scheduleId: string): Promise<boolean> {
    return this.found(this.api.request("DELETE", `/api/deployments/${enc(deploymentIdOrName)}/schedules/${enc(scheduleId)}`));
  }

  upsertWorkPool(pool: WorkPoolInput): Promise<WorkPool> {
    return this.api.request("POST", "/api/work-pools", pool, WorkPoolSchema);
  }
  upsertWorkQueue(queue: { poolName: string; name: string; priority?: number; concurrencyLimit?: number | null; paused?: boolean }): Promise<WorkQueue> {
    const { poolName, ...body } = queue;
    return this.api.request("POST", `/api/work-pools/${enc(poolName)}/queues`, body, WorkQueueSchema);
  }
  getWorkPool(name: string): Promise<WorkPool | undefined> {
    return orUndefined(this.api.request("GET", `/api/work-pools/${enc(name)}`, undefined, WorkPoolSchema));
  }
  async listWorkPools(): Promise<WorkPool[]> {
    return (await this.api.request("GET", "/api/work-pools", undefined, WorkPoolListSchema)).items;
  }
  deleteWorkPool(name: string): Promise<boolean> {
    return this.found(this.api.request("DELETE", `/api/work-pools/${enc(name)}`));
  }
  deleteWorkQueue(poolName: string, queueName: string): Promise<boolean> {
    return this.found(this.api.request("DELETE", `/api/work-pools/${enc(poolName)}/queues/${enc(queueName)}`));
  }
  registerWorker(worker: WorkerRegistration): Promise<WorkerRecord> {
    return this.api.request("POST", `/api/work-pools/${enc(worker.poolName)}/workers`, { id: worker.id, name: worker.name, runLimit: worker.runLimit, heartbeatMs: worker.heartbeatMs ?? null }, WorkerSchema);
  }
  async heartbeatWorker(id: string): Promise<void> {
    await this.api.request("POST", `/api/workers/${enc(id)}/heartbeat`);
  }
  async listWorkers(poolName?: string): Promise<WorkerRecord[]> {
    const pools = poolName
      ? [await this.api.request("GET", `/api/work-pools/${enc(poolName)}`, undefined, WorkPoolWithWorkersSchema)]
      : (await this.api.request("GET", "/api/work-pools", undefined, WorkPoolListSchema)).items;
    return pools.flatMap((p) => p.workers);
  }
  getWorker(id: string): Promise<WorkerRecord | undefined> {
    return orUndefined(this.api.request("GET", `/api/workers/${enc(id)}`, undefined, WorkerSchema));
  }
  async claimFlowRuns(poolName: string, workerId: string, max: number, _now?: number, waitMs?: number): Promise<ClaimedFlowRun[]> {
    const body = { workerId, max: Math.min(100, max), ...(waitMs ? { waitMs: Math.min(25_000, waitMs) } : {}) };
    return (await this.api.request("POST", `/api/work-pools/${enc(poolName)}/claim`, body, ClaimAnswerSchema)).items;
  }
  async interruptClaim(workerId: string): Promise<void> {
    await this.api.request("POST", `/api/workers/${enc(workerId)}/interrupt-claim`);
  }
  async nextDueAt(poolName: string): Promise<number | null> {
    return (await this.api.request("GET", `/api/work-pools/${enc(poolName)}/next-due`, undefined, NextDueSchema)).dueAt;
  }

  upsertConcurrencyLimit(limit: { name: string; limit: number; slotDecayPerSecond?: number | null }): Promise<ConcurrencyLimit> {
    return this.api.request("POST", "/api/concurrency-limits", limit, ConcurrencyLimitSchema);
  }
  async listConcurrencyLimits(): Promise<ConcurrencyLimit[]> {
    return (await this.api.request("GET", "/api/concurrency-limits", undefined, ConcurrencyLimitListSchema)).items;
  }
  getConcurrencyLimit(name: string): Promise<ConcurrencyLimit | undefined> {
    return orUndefined(this.api.request("GET", `/api/concurrency-limits/${enc(name)}`, undefined, ConcurrencyLimitSchema));
  }
  deleteConcurrencyLimit(name: string): Promise<boolean> {
    return this.found(this.api.request("DELETE", `/api/concurrency-limits/${enc(name)}`));
  }
  async resetConcurrencyLimit(name: string): Promise<void> {
    await this.api.request("POST", `/api/concurrency-limits/${enc(name)}/reset`);
  }
  async acquireSlots(names: string[], holder: string, slots: number, ttlMs: number): Promise<Lease[] | null> {
    const result = await this.api.request("POST", "/api/concurrency-limits/acquire", { names, holder, slots, ttlMs }, AcquireAnswerSchema);
    return result.acquired ? result.leases : null;
  }
  async renewLeases(leaseIds: string[], ttlMs: number): Promise<string[]> {
    if (!leaseIds.length) return [];
    return (await this.api.request("POST", "/api/concurrency-leases/renew", { ids: leaseIds, ttlMs }, RenewAnswerSchema)).renewed;
  }
  async releaseLeases(leaseIds: string[]): Promise<void> {
    if (leaseIds.length) await this.api.request("POST", "/api/concurrency-leases/release", { ids: leaseIds });
  }
}
