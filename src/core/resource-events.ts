/**
 * Events of the orchestration objects: `baton.deployment.*`, `baton.work-pool.*`,
 * `baton.work-queue.*`, `baton.concurrency-limit.*` — created, updated, deleted, and paused or
 * resumed (reset, for a limit) — emitted by the store in the transaction of the change. Ids
 * follow the flow-run events' related resources (core/event-records.ts): a pool is its name, a
 * queue is `pool/queue`, so "every event of pool P" finds both. Pure builders.
 */
import { newId } from "./ids.ts";
import type { NewEvent, RelatedResource } from "./event-records.ts";

export type ResourceChange = "created" | "updated" | "deleted" | "paused" | "resumed" | "reset";

/** `paused`/`resumed` when an update flips the flag, else `updated` (or `created` when new). */
export function changeOf(existed: boolean, pausedBefore: boolean | undefined, pausedAfter: boolean | undefined): ResourceChange {
  if (!existed) return "created";
  if (pausedBefore !== undefined && pausedAfter !== undefined && pausedBefore !== pausedAfter) return pausedAfter ? "paused" : "resumed";
  return "updated";
}

const queueId = (pool: string, queue: string) => `${pool}/${queue}`;

function event(name: string, resource: NewEvent["resource"], related: RelatedResource[], payload: Record<string, unknown>, now: number): NewEvent {
  return { id: newId(), occurred: now, event: name, resource, related, payload };
}

export function deploymentEvent(
  change: ResourceChange,
  d: { id: string; name: string; flowName: string; workPool: string | null; workQueue: string; tags: readonly string[]; paused: boolean },
  payload: Record<string, unknown> = {},
  now = Date.now(),
): NewEvent {
  const related: RelatedResource[] = [];
  if (d.workPool) related.push({ role: "work-pool", id: d.workPool, name: d.workPool }, { role: "work-queue", id: queueId(d.workPool, d.workQueue), name: d.workQueue });
  related.push(...d.tags.map((tag) => ({ role: "tag", id: tag, name: tag })));
  return event(`baton.deployment.${change}`, { id: d.id, name: d.name, labels: { kind: "deployment", flow: d.flowName } }, related, { paused: d.paused, ...payload }, now);
}

export function workPoolEvent(change: ResourceChange, p: { name: string; type: string; paused: boolean; concurrencyLimit: number | null }, now = Date.now()): NewEvent {
  return event(`baton.work-pool.${change}`, { id: p.name, name: p.name, labels: { kind: "work-pool", type: p.type } }, [], { paused: p.paused, concurrencyLimit: p.concurrencyLimit }, now);
}

export function workQueueEvent(
  change: ResourceChange,
  q: { poolName: string; name: string; priority: number; concurrencyLimit: number | null; paused: boolean },
  now = Date.now(),
): NewEvent {
  return event(
    `baton.work-queue.${change}`,
    { id: queueId(q.poolName, q.name), name: q.name, labels: { kind: "work-queue", pool: q.poolName } },
    [{ role: "work-pool", id: q.poolName, name: q.poolName }],
    { priority: q.priority, concurrencyLimit: q.concurrencyLimit, paused: q.paused },
    now,
  );
}

export function concurrencyLimitEvent(change: ResourceChange, l: { name: string; limit?: number; slotDecayPerSecond?: number | null }, now = Date.now()): NewEvent {
  const payload = l.limit === undefined ? {} : { limit: l.limit, slotDecayPerSecond: l.slotDecayPerSecond ?? null };
  return event(`baton.concurrency-limit.${change}`, { id: l.name, name: l.name, labels: { kind: "concurrency-limit" } }, [], payload, now);
}
