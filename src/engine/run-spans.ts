/**
 * The spans of flow runs and task runs (telemetry/tracing.ts), named after what ran, with
 * Baton's ids as attributes so a trace leads back to the runs in the dashboard. Callers make
 * them only when `tracing.enabled`: with tracing off nothing here runs.
 *
 * A flow run's span is the active span of everything its run does (the flow function, its
 * heartbeats, its writes through the API), so its tasks and child flows nest under it. A task
 * run's span starts when its run starts and ends when its future settles; its attempts are
 * events on it, and its function runs with it active, so a user's own spans nest under it.
 */
import { context, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { describeError } from "../core/errors.ts";
import type { State } from "../core/states.ts";
import type { FlowRun } from "../store/types.ts";
import { tracing } from "../telemetry/tracing.ts";

/** Final states that end a span in error. */
const ERROR_STATES = new Set(["FAILED", "CRASHED"]);

/** Ends `span` with the run's final state as attribute and status. */
export function endRunSpan(span: Span, kind: "flow_run" | "task_run", state: State, attempts?: number): void {
  span.setAttribute(`baton.${kind}.state`, state.name);
  if (attempts !== undefined) span.setAttribute(`baton.${kind}.attempts`, attempts);
  if (ERROR_STATES.has(state.type) || state.name === "TimedOut") span.setStatus({ code: SpanStatusCode.ERROR, message: state.message ?? state.name });
  span.end();
}

/** Runs `execute` (a flow run's whole execution) with the run's span active; ends it with the outcome's state. */
export async function withFlowRunSpan<T extends { state: State }>(flowRun: FlowRun, runCount: number, execute: () => Promise<T>): Promise<T> {
  const attributes: Attributes = {
    "baton.flow_run.id": flowRun.id,
    "baton.flow_run.name": flowRun.name,
    "baton.flow.name": flowRun.flowName,
    "baton.flow_run.run_count": runCount,
  };
  if (flowRun.deploymentId) attributes["baton.deployment.id"] = flowRun.deploymentId;
  if (flowRun.parentFlowRunId) attributes["baton.parent_flow_run.id"] = flowRun.parentFlowRunId;
  const span = tracing.tracer.startSpan(`flow-run ${flowRun.flowName}`, { attributes }, context.active());
  try {
    const outcome = await context.with(trace.setSpan(context.active(), span), execute);
    endRunSpan(span, "flow_run", outcome.state);
    return outcome;
  } catch (error) {
    span.recordException(describeError(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error).message });
    span.end();
    throw error;
  }
}

/** Notes a failed attempt that will be retried on the active span (the flow run's, inside `withFlowRunSpan`). */
export function noteRetry(span: Span | undefined, attempt: number, error: unknown, delayMs: number): void {
  span?.addEvent("retry", { "baton.attempt": attempt, "baton.retry.delay_ms": delayMs, "exception.type": describeError(error).name, "exception.message": describeError(error).message });
}

/** Starts a task run's span under `parent` (the context its call was made in). */
export function startTaskRunSpan(parent: Context, taskRun: { id: string; taskKey: string; flowRunId: string }, taskName: string, runner: string): Span {
  return tracing.tracer.startSpan(
    `task-run ${taskName}`,
    { attributes: { "baton.task_run.id": taskRun.id, "baton.task.key": taskRun.taskKey, "baton.task.name": taskName, "baton.flow_run.id": taskRun.flowRunId, "baton.task.runner": runner } },
    parent,
  );
}
