/** Live events: what the server streams and `followEvents` delivers. */
import type { State } from "./states.ts";

export interface StateEvent extends State {
  kind: "state";
  id: number;
  flowRunId: string;
  /** null for the flow run's own states. */
  taskRunId: string | null;
}

export interface LogEvent {
  kind: "log";
  id?: number;
  flowRunId: string;
  taskRunId: string | null;
  level: number;
  message: string;
  timestamp: number;
  extra?: Record<string, unknown> | null;
}

export type BatonEvent = StateEvent | LogEvent;
