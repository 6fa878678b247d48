/**
 * The context that follows a run through async calls (AsyncLocalStorage): which flow run and
 * task run the current code belongs to. Tasks called inside a flow find their flow run here.
 * One storage per process, shared by every copy of Baton loaded in it (process-wide.ts): a task
 * of one copy called in a flow run of another is a task run of that flow run.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FlowRunState } from "./flow-run-state.ts";
import { processWide } from "./process-wide.ts";

export interface TaskRunInfo {
  id: string;
  name: string;
  taskKey: string;
  /** 1-based attempt within this flow run attempt. */
  attempt: number;
  signal: AbortSignal;
}

export interface EngineContext {
  flow: FlowRunState;
  task: TaskRunInfo | null;
}

export const engineContext = processWide(
  "run-context",
  () => new AsyncLocalStorage<EngineContext>(),
  (value): value is AsyncLocalStorage<EngineContext> => value instanceof AsyncLocalStorage,
);

export function currentEngineContext(): EngineContext | undefined {
  return engineContext.getStore();
}
