/** Whether a worker is online: the rule the dashboard's workers page and `baton worker ls` share. */
import type { WorkerStatus } from "../schemas/worker.ts";
import type { WorkerRecord } from "../store/types.ts";

/** A worker's heartbeat interval when it does not say (the worker's default). */
export const DEFAULT_WORKER_HEARTBEAT_MS = 10_000;
/** A worker that missed this many heartbeats is offline (the rule flow runs are crashed by). */
const MISSED_BEATS = 3;

/** Online while its last heartbeat is younger than three of its intervals, by `now` (the server's clock). */
export function workerStatus(worker: WorkerRecord & { heartbeatMs?: number | null }, now: number): Pick<WorkerStatus, "status" | "ageMs" | "heartbeatMs"> {
  const heartbeatMs = worker.heartbeatMs ?? DEFAULT_WORKER_HEARTBEAT_MS;
  const ageMs = Math.max(0, now - worker.heartbeatAt);
  return { status: ageMs <= MISSED_BEATS * heartbeatMs ? "online" : "offline", ageMs, heartbeatMs };
}
