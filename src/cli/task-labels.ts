/**
 * How `flow-run watch` and `logs --follow` name a flow run's task runs: by task key (`fit-3`).
 * Ids are UUIDv7s, whose first characters are a timestamp that every task run of a fan-out
 * shares, so no prefix of an id tells task runs apart. Task runs created after the follower
 * started are looked up before the events naming them are printed, a batch of events at once.
 */
import type { RunStore, TaskRun } from "../store/types.ts";

/** Past this many unknown task runs, one listing of the flow run's task runs is cheaper than looking each up. */
const LOOKUP_ONE_BY_ONE = 10;

export class TaskLabels {
  /** Task key by task-run id. */
  readonly keys = new Map<string, string>();
  /** Task name by task-run id (the live bars count task runs per task name). */
  readonly names = new Map<string, string>();

  constructor(
    private readonly store: RunStore,
    private readonly flowRunId: string,
  ) {}

  /** Reads the keys of every task run the flow run has now, and returns those task runs. */
  async loadAll(): Promise<TaskRun[]> {
    const all = await this.store.listTaskRuns(this.flowRunId);
    for (const t of all) this.note(t);
    return all;
  }

  private note(t: TaskRun): void {
    this.keys.set(t.id, t.taskKey);
    this.names.set(t.id, t.taskName);
  }

  /** Looks up the task runs among `ids` not known yet; one that cannot be read is printed by id. */
  async learn(ids: Iterable<string | null>): Promise<void> {
    const unknown = [...new Set(ids)].filter((id): id is string => id !== null && !this.keys.has(id));
    if (unknown.length === 0) return;
    try {
      if (unknown.length > LOOKUP_ONE_BY_ONE) await this.loadAll();
      else for (const t of await this.store.getTaskRuns(unknown)) this.note(t);
    } catch {
      // A label is not worth failing a follower for: the id is printed instead.
    }
  }

  /** The task key, or the whole id of a task run that could not be read. */
  label(taskRunId: string): string {
    return this.keys.get(taskRunId) ?? taskRunId;
  }
}
