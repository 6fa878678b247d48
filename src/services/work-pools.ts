/**
 * Creating or updating a work pool, one way whoever asks (`POST /api/work-pools`, `baton
 * work-pool create`, on the database or through the API): its job variables' `{{ variables.x }}`
 * and `{{ secrets.x }}` must name values that exist (an InvalidReferenceError naming
 * `jobVariablesField`), before anything is stored. Deleting a queue keeps what runs need.
 */
import { poolPricesProblem } from "../core/cost.ts";
import type { OrchestrationStore, WorkPool } from "../store/types.ts";
import { checkConfigRefs, jobVariablesRefCheck, type RefStores } from "./config-refs.ts";
import { ServiceError } from "./errors.ts";

export async function upsertWorkPool(
  stores: { pools: Pick<OrchestrationStore, "upsertWorkPool">; refs: RefStores },
  input: Parameters<OrchestrationStore["upsertWorkPool"]>[0],
  options: { jobVariablesField?: string; priceField?: (field: string) => string } = {},
): Promise<WorkPool> {
  const problem = poolPricesProblem(input, options.priceField);
  if (problem) throw new InvalidPoolPricesError(problem);
  await checkConfigRefs(stores.refs, jobVariablesRefCheck(input.jobVariables, options.jobVariablesField ?? "jobVariables"));
  return stores.pools.upsertWorkPool(input);
}

/** A pool's price that is not a number >= 0, or a currency that is not an ISO 4217 code. */
export class InvalidPoolPricesError extends ServiceError {
  override name = "InvalidPoolPricesError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
}

/** A queue named by its pool and name that does not exist. */
export class WorkQueueNotFoundError extends ServiceError {
  override name = "WorkQueueNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(
    readonly pool: string,
    readonly queue: string,
  ) {
    super(`work pool "${pool}" has no queue "${queue}"`);
  }
}

/** A queue that may not be deleted: the pool's default, or one deployments send their runs to. */
export class WorkQueueInUseError extends ServiceError {
  override name = "WorkQueueInUseError";
  readonly reason = "conflict";
  readonly code = "QUEUE_IN_USE";
  constructor(
    message: string,
    override readonly details: { pool: string; queue: string; deployments: string[] },
  ) {
    super(message);
  }
}

/**
 * Deletes a queue of a pool. The default queue stays (runs without a queue go there), and so
 * does a queue that deployments name: their next runs would wait in a queue nobody can pause
 * or limit any more. The refusal names the deployments to move first.
 */
export async function deleteWorkQueue(store: Pick<OrchestrationStore, "getWorkPool" | "listDeployments" | "deleteWorkQueue">, pool: string, queue: string): Promise<void> {
  const found = await store.getWorkPool(pool);
  if (!found?.queues.some((q) => q.name === queue)) throw new WorkQueueNotFoundError(pool, queue);
  if (queue === "default") throw new WorkQueueInUseError(`the default queue of work pool "${pool}" cannot be deleted: runs that name no queue wait there`, { pool, queue, deployments: [] });
  const users = (await store.listDeployments()).filter((d) => d.workPool === pool && d.workQueue === queue).map((d) => d.name);
  if (users.length)
    throw new WorkQueueInUseError(`queue "${queue}" of work pool "${pool}" is used by deployment(s) ${users.map((u) => `"${u}"`).join(", ")}: give them another queue first`, { pool, queue, deployments: users });
  if (!(await store.deleteWorkQueue(pool, queue))) throw new WorkQueueNotFoundError(pool, queue);
}
