/** Text formatting shared by CLI commands. */
import Table from "cli-table3";
import { BatonError } from "../core/errors.ts";
import type { RunResources } from "../core/resources.ts";
import type { FlowRun, LogRecord, TaskRun } from "../store/types.ts";

/** "12 Completed, 3 Cached, 1 Failed" */
export function summariseTaskRuns(taskRuns: readonly TaskRun[]): string {
  const counts = new Map<string, number>();
  for (const run of taskRuns) counts.set(run.state.name, (counts.get(run.state.name) ?? 0) + 1);
  return counts.size ? [...counts].map(([name, n]) => `${n} ${name}`).join(", ") : "none";
}

const STATE_COLOURS: Record<string, number> = { COMPLETED: 32, FAILED: 31, CRASHED: 35, RUNNING: 34, CANCELLED: 90, CANCELLING: 33, PENDING: 37, SCHEDULED: 36, PAUSED: 33 };
const useColour = () => process.stdout.isTTY && !process.env.NO_COLOR;

export function stateLabel(state: { type: string; name: string }): string {
  return useColour() ? `\u001b[${STATE_COLOURS[state.type] ?? 0}m${state.name}\u001b[0m` : state.name;
}

export function time(ms: number | null | undefined): string {
  return ms == null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

export function duration(start: number | null, end: number | null): string {
  if (start == null) return "-";
  const ms = (end ?? Date.now()) - start;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** No rule between rows (a long listing stays compact): only under the header. */
const ROW_RULES_OFF = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

export function table(head: string[], rows: string[][]): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: ROW_RULES_OFF });
  t.push(...rows);
  const [top = "", header = "", ...rest] = t.toString().split("\n");
  const rule = top.replace("┌", "├").replace(/┬/g, "┼").replace("┐", "┤");
  return [top, header, rule, ...rest].join("\n");
}

export function flowRunRows(runs: FlowRun[]): string[][] {
  return runs.map((r) => [r.id, r.name, r.flowName, stateLabel(r.state), time(r.startTime ?? r.createdAt), duration(r.startTime, r.endTime)]);
}

export const FLOW_RUN_HEAD = ["id", "name", "flow", "state", "started", "duration"];

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL" };

/** Minimum levels by the names `--level` takes. */
const LEVEL_BY_NAME: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, warning: 40, error: 50 };

/** `--level NAME` as the lowest level shown; the error lists the names. */
export function minLogLevel(name: string): number {
  const level = LEVEL_BY_NAME[name];
  if (level === undefined) throw new BatonError(`--level must be one of ${Object.keys(LEVEL_BY_NAME).join(", ")}`);
  return level;
}

/** A log line, its task run named by task key (`taskKeys`), or by its whole id when not known. */
export function logLine(log: LogRecord, taskKeys?: ReadonlyMap<string, string>): string {
  const where = log.taskRunId ? (taskKeys?.get(log.taskRunId) ?? log.taskRunId) : "flow";
  return `${time(log.timestamp)} | ${(LEVELS[log.level] ?? String(log.level)).padEnd(8)} | ${where} - ${log.message}`;
}

/**
 * JSON.stringify's replacer for what results may hold beyond JSON (the result serialiser keeps
 * them): BigInts as decimal strings, Maps as objects, Sets and typed arrays as arrays.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>);
  return value;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonReplacer, 2) + "\n");
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
const megabytes = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** What a run used (core/resources.ts), in one line: "wall 1.20 s, CPU 1.18 s (user 1.10 s, system 80 ms), peak 312 MB". */
export function resourcesLabel(r: RunResources | null | undefined): string {
  if (!r) return "-";
  const parts = [`wall ${seconds(r.wallMs)}`];
  if (r.cpuUserMs != null || r.cpuSystemMs != null)
    parts.push(`CPU ${seconds((r.cpuUserMs ?? 0) + (r.cpuSystemMs ?? 0))} (user ${seconds(r.cpuUserMs ?? 0)}, system ${r.cpuSystemMs == null ? "not measured" : seconds(r.cpuSystemMs)})`);
  if (r.peakMemoryBytes != null) parts.push(`peak ${megabytes(r.peakMemoryBytes)}`);
  if (r.retriedWallMs > 0) parts.push(`retried attempts ${seconds(r.retriedWallMs)}`);
  return parts.join(", ");
}

/** A task run's CPU and peak memory for a table cell: "1.18 s, 312 MB". */
export function resourcesCell(r: RunResources | null | undefined): string {
  if (!r) return "";
  const cpu = r.cpuUserMs != null || r.cpuSystemMs != null ? seconds((r.cpuUserMs ?? 0) + (r.cpuSystemMs ?? 0)) : "-";
  return r.peakMemoryBytes != null ? `${cpu}, ${megabytes(r.peakMemoryBytes)}` : cpu;
}
