/**
 * Run loggers: lines are stored with the run (through the write batcher, so logging never
 * costs a commit of its own) and echoed to stderr for the person watching.
 */
import { format } from "node:util";
import type { Runtime } from "./runtime.ts";
import { redact } from "../core/redaction.ts";

export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevelName = Exclude<keyof typeof LOG_LEVELS, "silent">;
const LEVEL_LABEL: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL" };

export interface RunLogger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
  fatal(message: string, ...args: unknown[]): void;
}

/**
 * Stored logs below this level are dropped. Debug lines are kept (they cost a write only when
 * user code logs them: the engine logs at info and above); trace stays console-only.
 */
const STORED_MIN_LEVEL = LOG_LEVELS.debug;

export function consoleLevelFromName(name: string): number {
  return (LOG_LEVELS as Record<string, number>)[name] ?? LOG_LEVELS.info;
}

/**
 * Where run log lines are echoed: stderr, or a sink set by a live view that keeps its status
 * line below the logs. (The raw stream writer, not console: `logPrints` patches console.)
 */
export const consoleOutput: { write: (line: string) => void } = { write: (line) => void process.stderr.write(line + "\n") };
const writeStderr = (line: string) => consoleOutput.write(line);

export function createRunLogger(
  runtime: Runtime,
  where: { flowRunId: string; taskRunId: string | null; label: string },
): RunLogger {
  const emit = (level: number, message: string, args: unknown[]) => {
    // Secret values this process read never reach the stored lines or the console.
    const text = redact(args.length ? format(message, ...args) : message);
    const timestamp = Date.now();
    if (level >= STORED_MIN_LEVEL)
      runtime.batcher.post([{ kind: "log", log: { flowRunId: where.flowRunId, taskRunId: where.taskRunId, level, message: text, timestamp } }]);
    if (level >= runtime.consoleLevel) {
      const time = new Date(timestamp).toISOString().slice(11, 23);
      writeStderr(`${time} | ${(LEVEL_LABEL[level] ?? String(level)).padEnd(8)} | ${where.label} - ${text}`);
    }
  };
  return {
    trace: (m, ...a) => emit(10, m, a),
    debug: (m, ...a) => emit(20, m, a),
    info: (m, ...a) => emit(30, m, a),
    warn: (m, ...a) => emit(40, m, a),
    error: (m, ...a) => emit(50, m, a),
    fatal: (m, ...a) => emit(60, m, a),
  };
}
