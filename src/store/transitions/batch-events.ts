/**
 * The events of a write batch (the engine's hot path, see task-runs.ts): the batch's task-run
 * transitions people must hear of (`baton.task-run.Failed|TimedOut|Crashed|Cancelled`, or every
 * one of a task that set `emitEvents`) and its error-level log lines (`baton.log.error`,
 * `baton.log.fatal`). Pure: the store looks up the flow runs' facts and appends the events with
 * the batch, in its transaction.
 */
import { newId } from "../../core/ids.ts";
import { taskRunTransitionEvent, type NewEvent } from "../../core/event-records.ts";
import type { State } from "../../core/states.ts";
import type { WriteOp } from "../types.ts";
import { isTaskRunEvent, type FlowRunOfTask } from "./task-runs.ts";

/** pino's error level: lines at or above it are events. */
export const ERROR_LOG_LEVEL = 50;

/** The flow runs whose facts the batch's events need (none for a batch of routine work). */
export function flowRunsNeedingFacts(ops: readonly WriteOp[]): Set<string> {
  const ids = new Set<string>();
  for (const op of ops) {
    if (op.kind === "taskRun" && isTaskRunEvent(op.taskRun.state, op.emitEvents)) ids.add(op.taskRun.flowRunId);
    else if (op.kind === "log" && op.log.level >= ERROR_LOG_LEVEL) ids.add(op.log.flowRunId);
  }
  return ids;
}

export function batchEvents(ops: readonly WriteOp[], flowRuns: ReadonlyMap<string, FlowRunOfTask>): NewEvent[] {
  const events: NewEvent[] = [];
  const previous = new Map<string, State>();
  const taskKeys = new Map<string, string>();
  for (const op of ops) {
    if (op.kind === "taskRun") {
      const run = op.taskRun;
      taskKeys.set(run.id, run.taskKey);
      const flowRun = flowRuns.get(run.flowRunId);
      if (flowRun && isTaskRunEvent(run.state, op.emitEvents))
        events.push(taskRunTransitionEvent(newId(), { id: run.id, taskKey: run.taskKey, taskName: run.taskName, flowRunId: run.flowRunId, tags: run.tags, runCount: run.runCount }, flowRun, previous.get(run.id) ?? null, run.state));
      previous.set(run.id, run.state);
    } else if (op.kind === "log" && op.log.level >= ERROR_LOG_LEVEL) {
      const log = op.log;
      const flowRun = flowRuns.get(log.flowRunId);
      if (!flowRun) continue;
      const related = [
        { role: "flow-run", id: flowRun.id, name: flowRun.name },
        { role: "flow", id: flowRun.flowId, name: flowRun.flowName },
        ...(flowRun.deploymentId ? [{ role: "deployment", id: flowRun.deploymentId, name: null }] : []),
      ];
      events.push({
        id: newId(),
        occurred: log.timestamp,
        event: log.level >= 60 ? "baton.log.fatal" : "baton.log.error",
        // The run that logged it: its task run, or the flow run itself.
        resource: log.taskRunId
          ? { id: log.taskRunId, name: taskKeys.get(log.taskRunId) ?? null, labels: { kind: "task-run" } }
          : { id: flowRun.id, name: flowRun.name, labels: { kind: "flow-run" } },
        related: log.taskRunId ? related : related.slice(1),
        payload: { level: log.level, message: log.message.length > 10_000 ? `${log.message.slice(0, 10_000)}…` : log.message, extra: log.extra ?? null },
      });
    }
  }
  return events;
}
