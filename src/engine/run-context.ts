/**
 * The context that follows a run through async calls (AsyncLocalStorage): which flow run and
 * task run the current code belongs to. Tasks called inside a flow find their flow run here.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FlowRunState } from "./flow-run-state.ts";

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

export const engineContext = new AsyncLocalStorage<EngineContext>();

export function currentEngineContext(): EngineContext | undefined {
  return engineContext.getStore();
}
