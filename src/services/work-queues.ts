/**
 * Finding and pausing a work queue. A queue's name is unique within its pool only: a queue
 * named without its pool is found when one pool has it, and refused (naming the pools) when
 * several do.
 */
import { BatonError } from "../core/errors.ts";
import type { OrchestrationStore, WorkPool, WorkQueue } from "../store/types.ts";

export async function findWorkQueue(pools: Pick<OrchestrationStore, "getWorkPool" | "listWorkPools">, name: string, poolName?: string): Promise<{ pool: WorkPool; queue: WorkQueue }> {
  const candidates = poolName === undefined ? await pools.listWorkPools() : [await pools.getWorkPool(poolName)].filter((p): p is WorkPool => p !== undefined);
  if (poolName !== undefined && !candidates.length) throw new BatonError(`work pool "${poolName}" does not exist; see baton work-pool ls`);
  const found = candidates.flatMap((pool) => pool.queues.filter((q) => q.name === name).map((queue) => ({ pool, queue })));
  if (found.length === 1) return found[0]!;
  if (!found.length) throw new BatonError(`work queue "${name}" does not exist${poolName === undefined ? "" : ` in pool "${poolName}"`}; see baton work-queue ls`);
  throw new BatonError(`work queue "${name}" is in several pools (${found.map((f) => f.pool.name).join(", ")}); say which with --pool`);
}

/** Pauses (no runs handed out from it) or resumes a queue, keeping its priority and limit. */
export async function setWorkQueuePaused(pools: Pick<OrchestrationStore, "getWorkPool" | "listWorkPools" | "upsertWorkQueue">, name: string, poolName: string | undefined, paused: boolean): Promise<WorkQueue> {
  const { queue } = await findWorkQueue(pools, name, poolName);
  return pools.upsertWorkQueue({ ...queue, paused });
}
