/**
 * `baton.flow-run.source`: what a run executed, recorded by the process that runs it before the
 * flow's code is loaded — the content hash of the entrypoint file and of the lock file of its
 * project, if it has one. A run's compliance report (services/run-report.ts) takes the first one
 * recorded (code loaded afterwards cannot rewrite what ran). Pure.
 */
import type { NewEvent } from "./event-records.ts";
import { newId } from "./ids.ts";

export const FLOW_RUN_SOURCE_EVENT = "baton.flow-run.source";

export interface SourceHashes {
  /** The run's entrypoint as stored (`path/to/file.ts:flowName`). */
  entrypoint: string;
  /** sha256 (hex) of the entrypoint file's bytes. */
  sourceSha256: string;
  /** The lock file found (package-lock.json), relative to the entrypoint file's folder, or null. */
  lockFile: string | null;
  lockSha256: string | null;
}

export function flowRunSourceEvent(run: { id: string; name: string; flowName: string }, source: SourceHashes, now = Date.now()): NewEvent {
  return {
    id: newId(),
    occurred: now,
    event: FLOW_RUN_SOURCE_EVENT,
    resource: { id: run.id, name: run.name, labels: { kind: "flow-run", flow: run.flowName } },
    related: [],
    payload: { ...source },
  };
}
