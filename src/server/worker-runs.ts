/**
 * Which flow runs a worker key may write to: the runs workers claimed (their `workerId` is
 * set) and their descendants through `parentFlowRunId` (a run's process creates child flow runs
 * and reports them under the same key). Everything else — runs people started with `baton run`,
 * runs no worker has claimed yet — is an admin's, and a worker key gets a 403 naming the field.
 *
 * Runs found to be a worker's are remembered (up to `capacity`), so a running flow's batches
 * and heartbeats cost no lookup after the first. A remembered run stays writable to worker keys
 * until this server forgets it (deleted through it, or pushed out of memory): a run put back to
 * Pending by hand clears its `workerId`, but was a worker's run before and keeps that standing
 * here.
 */
import type { RunStore } from "../store/types.ts";
import { ApiError, notFound } from "./errors.ts";

/** A flow run a request names, and where: `body.ops`, `params.id`, … (`id: null`: the request must name one and does not). */
export interface NamedRun {
  field: string;
  id: string | null;
}

/** Parent links followed at most: a chain longer than this is refused rather than walked on. */
const MAX_DEPTH = 1000;

export class WorkerRuns {
  private readonly owned = new Set<string>();

  constructor(
    private readonly store: RunStore,
    private readonly capacity = 100_000,
  ) {}

  /** Resolves when every named run is a worker's run (404 for one that does not exist, 403 for one that is not a worker's). */
  async require(runs: readonly NamedRun[]): Promise<void> {
    for (const { field, id } of runs) {
      if (id === null)
        throw new ApiError(403, "FORBIDDEN", `${field} is required with a worker key: a worker key may only create child flow runs of the runs workers claimed (creating other runs needs an admin API key)`);
      if (this.owned.has(id)) continue;
      const verdict = await this.walk(id);
      if (verdict === "missing") throw field.startsWith("params.") ? notFound("flow run", id) : new ApiError(404, "NOT_FOUND", `${field}: flow run ${id} was not found`);
      if (verdict === "not-a-worker-run")
        throw new ApiError(403, "FORBIDDEN", `${field}: flow run ${id} was not claimed by a worker, nor is it a child of such a run; a worker key may only write to the runs workers claimed (this needs an admin API key)`);
    }
  }

  /** The run was deleted: its id means nothing any more. */
  forget(id: string): void {
    this.owned.delete(id);
  }

  /** Follows parent links up to a worker's run; remembers every run on the way when it finds one. */
  private async walk(id: string): Promise<"owned" | "missing" | "not-a-worker-run"> {
    const path: string[] = [];
    let current: string | null = id;
    while (current !== null && path.length < MAX_DEPTH) {
      if (this.owned.has(current)) return this.remember(path);
      const run = await this.store.getFlowRun(current);
      if (!run) return path.length === 0 ? "missing" : "not-a-worker-run";
      path.push(run.id);
      if (run.workerId !== null) return this.remember(path);
      current = run.parentFlowRunId;
    }
    return "not-a-worker-run";
  }

  private remember(ids: readonly string[]): "owned" {
    for (const id of ids) {
      this.owned.delete(id);
      this.owned.add(id);
    }
    while (this.owned.size > this.capacity) this.owned.delete(this.owned.values().next().value!);
    return "owned";
  }
}
