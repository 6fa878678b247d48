/**
 * Scoped keys: a key limited to work pools and/or deployment tags sees and touches only those.
 * A route's scope rule (route-permissions.ts) says what it reaches; this file decides whether a
 * scope covers it:
 *   - a work pool: its name is in `pools`;
 *   - a deployment: its pool is in `pools` and it has one of `deploymentTags`;
 *   - a flow run: the run that placed it (itself or the nearest ancestor with a work pool or a
 *     deployment: a child flow run has neither, and belongs where its parent runs) is in a pool
 *     of `pools` and carries one of `deploymentTags` (a deployment's runs carry its tags);
 *   - a task run: its flow run; a worker: its pool.
 * Something out of scope is answered 404, as if it did not exist (a scoped key learns nothing of
 * other pools), with a message that says a scope may be why. Lists are filtered.
 */
import type { FastifyRequest } from "fastify";
import type { CredentialScope } from "../schemas/credential.ts";
import type { OrchestrationStore, RunStore } from "../store/types.ts";
import { ApiError } from "./errors.ts";
import type { RequestField, ScopeRule } from "./route-permissions.ts";
import type { NamedRun } from "./worker-runs.ts";

/** Where a run belongs, for its scope. */
interface Placement {
  workPool: string | null;
  tags: readonly string[];
}

const MAX_DEPTH = 1000;

export function scopeLabel(scope: CredentialScope): string {
  const parts = [];
  if (scope.pools) parts.push(`work pools ${scope.pools.join(", ")}`);
  if (scope.deploymentTags) parts.push(`deployment tags ${scope.deploymentTags.join(", ")}`);
  return parts.join(" and ");
}

export function isScoped(scope: CredentialScope | null | undefined): scope is CredentialScope {
  return !!scope && (scope.pools !== null || scope.deploymentTags !== null);
}

export function poolInScope(scope: CredentialScope, pool: string | null): boolean {
  return scope.pools === null || (pool !== null && scope.pools.includes(pool));
}

const tagsInScope = (scope: CredentialScope, tags: readonly string[]) => scope.deploymentTags === null || tags.some((t) => scope.deploymentTags!.includes(t));

export function placementInScope(scope: CredentialScope, placed: Placement): boolean {
  return poolInScope(scope, placed.workPool) && tagsInScope(scope, placed.tags);
}

/** Reads `params.x`, `query.x` or `body.x` of a request (null when absent). */
export function requestField(request: FastifyRequest, field: RequestField): string | null {
  const [part, name] = field.split(/\.(.*)/s) as ["params" | "query" | "body", string];
  const value = (request[part] as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : null;
}

function outOfScope(field: string, what: string, id: string, scope: CredentialScope): ApiError {
  return new ApiError(404, "NOT_FOUND", `${field}: ${what} ${id} was not found among those this key may see (it is scoped to ${scopeLabel(scope)})`);
}

export class ScopeGuard {
  private readonly placements = new Map<string, Placement>();
  private readonly workerPools = new Map<string, string>();

  constructor(
    private readonly store: Pick<RunStore, "getFlowRun" | "getTaskRun">,
    private readonly orchestration: Pick<OrchestrationStore, "getDeployment" | "listWorkers">,
    private readonly capacity = 100_000,
  ) {}

  /** Resolves when the request stays within `scope` by `rule`; rejects with a 403 or 404 naming the field. */
  async require(scope: CredentialScope, rule: ScopeRule | undefined, request: FastifyRequest, written: () => readonly NamedRun[] | null): Promise<void> {
    if (rule === undefined)
      throw new ApiError(403, "FORBIDDEN", `${request.method} ${request.routeOptions.url} is not open to scoped keys: this key is scoped to ${scopeLabel(scope)} (use a key without a scope)`);
    if (typeof rule === "string" && (rule === "global" || rule.startsWith("list:"))) return;
    if (rule === "runs-written") {
      const runs = written() ?? [];
      for (const { field, id } of runs) {
        if (id === null) throw new ApiError(403, "FORBIDDEN", `${field} is required with a key scoped to ${scopeLabel(scope)}: it may only add to runs in its scope`);
        await this.requireRun(scope, id, field);
      }
      return;
    }
    if (typeof rule !== "object") return;
    const field = "pool" in rule ? rule.pool : "deployment" in rule ? rule.deployment : "run" in rule ? rule.run : "taskRun" in rule ? rule.taskRun : rule.worker;
    const value = requestField(request, field);
    if (value === null) throw new ApiError(403, "FORBIDDEN", `${field} is required with a key scoped to ${scopeLabel(scope)}`);
    if ("pool" in rule) {
      if (rule.claims && scope.deploymentTags !== null)
        throw new ApiError(403, "FORBIDDEN", `a key scoped to deployment tags cannot claim runs (a pool holds runs of every deployment): scope the worker's key to its pools (--pools)`);
      if (!poolInScope(scope, value)) throw outOfScope(field, "work pool", value, scope);
    } else if ("deployment" in rule) {
      const deployment = await this.orchestration.getDeployment(value);
      // Not there at all: the handler's own 404.
      if (deployment && !placementInScope(scope, deployment)) throw outOfScope(field, "deployment", value, scope);
    } else if ("run" in rule) {
      await this.requireRun(scope, value, field);
    } else if ("taskRun" in rule) {
      const taskRun = await this.store.getTaskRun(value);
      if (taskRun) await this.requireRun(scope, taskRun.flowRunId, field, "task run", value);
    } else {
      const pool = await this.workerPool(value);
      if (pool !== null && !poolInScope(scope, pool)) throw outOfScope(field, "worker", value, scope);
    }
  }

  /** The `items` of a list answer that `scope` covers. */
  filter(kind: string, payload: unknown, scope: CredentialScope): unknown {
    const items = (payload as { items?: unknown[] } | null)?.items;
    if (!Array.isArray(items)) return payload;
    const keep = (item: { workPool?: string | null; tags?: string[]; name?: string; poolName?: string }): boolean => {
      switch (kind) {
        case "list:flow-runs":
        case "list:deployments":
          return placementInScope(scope, { workPool: item.workPool ?? null, tags: item.tags ?? [] });
        case "list:work-pools":
          return poolInScope(scope, item.name ?? null);
        case "list:workers":
          return poolInScope(scope, item.poolName ?? null);
        default:
          return false;
      }
    };
    return { ...(payload as object), items: (items as Parameters<typeof keep>[0][]).filter(keep) };
  }

  private async requireRun(scope: CredentialScope, id: string, field: string, what = "flow run", named = id): Promise<void> {
    const placed = await this.placement(id);
    // An unknown run: the handler answers its own 404 (or creates nothing).
    if (placed && !placementInScope(scope, placed)) throw outOfScope(field, what, named, scope);
  }

  private async placement(id: string): Promise<Placement | null> {
    const known = this.placements.get(id);
    if (known) return known;
    const path: string[] = [];
    let current: string | null = id;
    let found: Placement | null = null;
    while (current !== null && path.length < MAX_DEPTH) {
      const cached = this.placements.get(current);
      if (cached) {
        found = cached;
        break;
      }
      const run = await this.store.getFlowRun(current);
      if (!run) break;
      path.push(run.id);
      if (run.workPool !== null || run.deploymentId !== null || run.parentFlowRunId === null) {
        found = { workPool: run.workPool, tags: run.tags };
        break;
      }
      current = run.parentFlowRunId;
    }
    if (!found) return null;
    // A run's pool and tags never change: remember them for the whole chain.
    for (const runId of path) this.placements.set(runId, found);
    while (this.placements.size > this.capacity) this.placements.delete(this.placements.keys().next().value!);
    return found;
  }

  private async workerPool(id: string): Promise<string | null> {
    const known = this.workerPools.get(id);
    if (known) return known;
    for (const worker of await this.orchestration.listWorkers()) this.workerPools.set(worker.id, worker.poolName);
    return this.workerPools.get(id) ?? null;
  }
}
