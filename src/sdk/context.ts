/** Run context and loggers for user code. */
import { currentEngineContext } from "../engine/run-context.ts";
import { createRunLogger, type RunLogger } from "../engine/run-logger.ts";
import { format } from "node:util";

export interface RunContext {
  flowRun: { id: string; name: string; flowName: string; parameters: unknown; runCount: number };
  /** The current task run, or null in the flow function itself. */
  taskRun: { id: string; name: string; taskKey: string; attempt: number } | null;
  /** Aborted when the run times out or is stopped: pass it to fetch, streams, child processes. */
  signal: AbortSignal;
}

/** The current flow run and task run, or `undefined` outside a run. */
export function getRunContext(): RunContext | undefined {
  const ctx = currentEngineContext();
  if (!ctx) return undefined;
  const run = ctx.flow.flowRun;
  return {
    flowRun: { id: run.id, name: run.name, flowName: run.flowName, parameters: run.parameters, runCount: run.runCount },
    taskRun: ctx.task ? { id: ctx.task.id, name: ctx.task.name, taskKey: ctx.task.taskKey, attempt: ctx.task.attempt } : null,
    signal: ctx.task?.signal ?? ctx.flow.controller.signal,
  };
}

const loggers = new WeakMap<object, RunLogger>();

/** A logger whose lines are stored with the current run (console-only outside a run). */
export function getRunLogger(): RunLogger {
  const ctx = currentEngineContext();
  if (!ctx) return consoleLogger;
  const owner = ctx.task ?? ctx.flow;
  let logger = loggers.get(owner);
  if (!logger) {
    logger = ctx.task
      ? createRunLogger(ctx.flow.runtime, { flowRunId: ctx.flow.flowRun.id, taskRunId: ctx.task.id, label: `Task run '${ctx.task.name}'` })
      : ctx.flow.logger;
    loggers.set(owner, logger);
  }
  return logger;
}

const consoleLogger: RunLogger = {
  trace: (m, ...a) => console.debug(format(m, ...a)),
  debug: (m, ...a) => console.debug(format(m, ...a)),
  info: (m, ...a) => console.info(format(m, ...a)),
  warn: (m, ...a) => console.warn(format(m, ...a)),
  error: (m, ...a) => console.error(format(m, ...a)),
  fatal: (m, ...a) => console.error(format(m, ...a)),
};
