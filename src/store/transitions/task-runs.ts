/**
 * Task-run transitions. Two paths, both in this folder (the only writers of state columns):
 *   - `transitionTaskRuns`: decided one by one against the stored state, like flow runs — the
 *     crash sweep ending the task runs of a crashed flow run;
 *   - the write batch (batch.ts), the engine's hot path: task-run snapshots the engine (or, through
 *     the API, the batch checker) already decided, upserted in a few multi-row statements.
 * Both append the history and the events of task runs: `baton.task-run.<State>` for the states
 * people must hear of (Failed, TimedOut, Crashed, Cancelled), or for every state of a task that
 * asked for its events (`emitEvents`).
 */
import type { Selectable } from "kysely";
import { TERMINAL_TYPES, type State } from "../../core/states.ts";
import { decideTransition } from "../../core/transitions.ts";
import { TASK_RUN_EVENT_STATES, taskRunTransitionEvent, type FlowRunFacts, type NewEvent, type TaskRunFacts } from "../../core/event-records.ts";
import { newId } from "../../core/ids.ts";
import { taskRunFromRow } from "../rows.ts";
import type { TaskRunsTable } from "../schema.ts";
import type { StateRecord } from "../types.ts";
import { storableText } from "./batch-sql.ts";
import { appendEvents } from "./event-log.ts";
import { insertHistory } from "./flow-runs.ts";
import type { TransitionHost, Tx } from "./host.ts";

/** What a task-run event says of its flow run. */
export type FlowRunOfTask = Pick<FlowRunFacts, "id" | "name" | "flowId" | "flowName" | "deploymentId">;

export interface TaskRunProposal {
  id: string;
  state: State;
}

const CHUNK = 400;

const factsOf = (row: Selectable<TaskRunsTable>): TaskRunFacts => ({
  id: row.id,
  taskKey: row.task_key,
  taskName: row.task_name,
  flowRunId: row.flow_run_id,
  tags: JSON.parse(row.tags) as string[],
  runCount: Number(row.run_count),
});

/** Whether a task run's move to `to` is an event (its failures always; every move with `emitEvents`). */
export function isTaskRunEvent(to: Pick<State, "name">, emitEvents = false): boolean {
  return emitEvents || TASK_RUN_EVENT_STATES.has(to.name);
}

/**
 * Proposes states for task runs, deciding each against its stored state (refused ones are left
 * as they are); `flowRuns` describes their flow runs for the events. Returns the ids moved.
 */
export async function transitionTaskRuns(tx: Tx, host: TransitionHost, proposals: readonly TaskRunProposal[], flowRuns: ReadonlyMap<string, FlowRunOfTask>, now = Date.now()): Promise<string[]> {
  const byId = new Map(proposals.map((p) => [p.id, p]));
  const ids = [...byId.keys()].sort();
  const moved: string[] = [];
  const history: Omit<StateRecord, "id">[] = [];
  const events: NewEvent[] = [];
  const groups = new Map<string, string[]>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    let query = tx.selectFrom("task_runs").selectAll().where("id", "in", ids.slice(i, i + CHUNK)).orderBy("id");
    if (host.dialect === "postgres") query = query.forUpdate();
    for (const row of await query.execute()) {
      const to = byId.get(row.id)!.state;
      const current = taskRunFromRow(row);
      if (decideTransition({ from: current.state, to, now }).kind !== "accept") continue;
      moved.push(row.id);
      const key = JSON.stringify(to);
      groups.set(key, [...(groups.get(key) ?? []), row.id]);
      history.push({ ...to, flowRunId: row.flow_run_id, taskRunId: row.id });
      const flowRun = flowRuns.get(row.flow_run_id);
      if (flowRun && isTaskRunEvent(to)) events.push(taskRunTransitionEvent(newId(), factsOf(row), flowRun, current.state, to));
    }
  }
  for (const [key, group] of groups) {
    const to = JSON.parse(key) as State;
    const columns = {
      state_type: to.type,
      state_name: to.name,
      state_message: storableText(to.message ?? null),
      state_timestamp: to.timestamp,
      scheduled_at: to.scheduledAt ?? null,
      ...(TERMINAL_TYPES.has(to.type) ? { end_time: to.timestamp } : {}),
    };
    for (let i = 0; i < group.length; i += CHUNK) await tx.updateTable("task_runs").set(columns).where("id", "in", group.slice(i, i + CHUNK)).execute();
  }
  await insertHistory(tx, host, history);
  await appendEvents(tx, host, events);
  return moved;
}
