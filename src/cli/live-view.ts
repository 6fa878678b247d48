/**
 * The live view of `baton run` (and, fed from the run's events, of `flow-run watch`). On a
 * terminal: a block under the logs, redrawn in place, with the flow's task runs per task name
 * (done/total and a bar) and the run's dashboard link when a server is known. Elsewhere (CI
 * logs, pipes, `--no-progress`): one plain line per task run that ends — not per transition, so
 * a 2,000-item map prints 2,000 lines, not 4,000+.
 *
 * `renderProgress` is pure (a model and a width in, lines out): the terminal part (`LiveBlock`)
 * only moves the cursor back over the block it drew last and writes the new one.
 */
import type { StateType } from "../core/states.ts";
import { isTerminal } from "../core/states.ts";
import type { WriteOp } from "../store/types.ts";
import { consoleOutput } from "../engine/run-logger.ts";
import type { Runtime } from "../engine/runtime.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** Task names listed with a bar; the rest are summed on one line. */
export const MAX_TASK_LINES = 8;
const BAR_WIDTH = 20;

/** The task runs of one task name, by what they are doing. */
export interface TaskTally {
  total: number;
  done: number;
  failed: number;
  running: number;
}

export interface ProgressModel {
  flowName: string;
  /** Per task name, in the order first seen. */
  tasks: ReadonlyMap<string, TaskTally>;
  elapsedMs: number;
  /** The run's page in the dashboard, when a server is known. */
  link: string | null;
  /** The spinner's frame. */
  frame: number;
}

/** "████████░░░░" for `done` of `total`, `width` cells. */
export function bar(done: number, total: number, width = BAR_WIDTH): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : 0;
  return "█".repeat(filled) + "░".repeat(width - filled);
}

const count = (n: number) => n.toLocaleString("en");

/** The lines of the live block, each at most `width - 1` characters (a wrapped line would break the redraw). */
export function renderProgress(model: ProgressModel, width: number): string[] {
  const all = [...model.tasks.values()];
  const total = all.reduce((n, t) => n + t.total, 0);
  const done = all.reduce((n, t) => n + t.done, 0);
  const failed = all.reduce((n, t) => n + t.failed, 0);
  const head = `${SPINNER[model.frame % SPINNER.length]} ${model.flowName} · ${(model.elapsedMs / 1000).toFixed(1)} s · ${total ? `${count(done)}/${count(total)} task runs done` : "no task runs yet"}${failed ? ` · ${count(failed)} failed` : ""}`;
  // Unfinished tasks first (what is happening now), then in the order they started.
  const entries = [...model.tasks].map(([name, t], i) => ({ name, t, i })).sort((a, b) => Number(a.t.done === a.t.total) - Number(b.t.done === b.t.total) || a.i - b.i);
  const shown = entries.length > MAX_TASK_LINES ? entries.slice(0, MAX_TASK_LINES - 1) : entries;
  const nameWidth = Math.min(24, Math.max(4, ...shown.map((e) => e.name.length)));
  const figures = Math.max(...shown.map((e) => `${count(e.t.done)}/${count(e.t.total)}`.length), 3);
  const lines = [head];
  for (const { name, t } of shown) {
    const label = name.length > nameWidth ? `${name.slice(0, nameWidth - 1)}…` : name.padEnd(nameWidth);
    const extra = [t.running ? `${count(t.running)} running` : "", t.failed ? `${count(t.failed)} failed` : ""].filter(Boolean).join(", ");
    lines.push(`  ${label} ${bar(t.done, t.total)} ${`${count(t.done)}/${count(t.total)}`.padStart(figures)}${extra ? `  ${extra}` : ""}`);
  }
  const hidden = entries.slice(shown.length);
  if (hidden.length) {
    const rest = hidden.reduce((n, e) => ({ done: n.done + e.t.done, total: n.total + e.t.total }), { done: 0, total: 0 });
    lines.push(`  … ${hidden.length} more tasks: ${count(rest.done)}/${count(rest.total)} done`);
  }
  if (model.link) lines.push(`  ${model.link}`);
  return lines.map((line) => (line.length >= width ? `${line.slice(0, Math.max(1, width - 2))}…` : line));
}

/** What erases a block of `lines` lines drawn with the cursor left at the end of its last line. */
export function eraseBlock(lines: number): string {
  if (lines === 0) return "";
  return `\r${lines > 1 ? `\u001b[${lines - 1}A` : ""}\u001b[J`;
}

/** Per task name tallies, from the task runs' states as the batcher writes them. */
export class TaskTallies {
  readonly tasks = new Map<string, TaskTally>();
  private readonly runs = new Map<string, { task: string; type: StateType }>();

  /** Applies a task run's new state; returns true when the task run has just ended. */
  apply(id: string, taskName: string, type: StateType): boolean {
    const before = this.runs.get(id);
    if (before?.type === type) return false;
    const t = this.tasks.get(taskName) ?? { total: 0, done: 0, failed: 0, running: 0 };
    this.tasks.set(taskName, t);
    if (before) this.adjust(t, before.type, -1);
    else t.total += 1;
    this.adjust(t, type, 1);
    this.runs.set(id, { task: taskName, type });
    return isTerminal(type) && !(before && isTerminal(before.type));
  }

  private adjust(t: TaskTally, type: StateType, by: 1 | -1): void {
    if (isTerminal(type)) t.done += by;
    if (type === "FAILED" || type === "CRASHED") t.failed += by;
    if (type === "RUNNING") t.running += by;
  }
}

/** The block is redrawn with new figures at most this often (10 times a second). */
const REDRAW_MS = 100;

/** Whether to draw the block: a terminal on both outputs, not CI, not turned off with `--no-progress`. */
export function drawsProgress(stream: NodeJS.WriteStream, progress = true): boolean {
  return progress && Boolean(stream.isTTY) && Boolean(process.stdout.isTTY) && !process.env.CI;
}

/**
 * A block of lines kept under what is printed above it. Its figures are rendered again only on
 * the timer (at most 10 times a second, however fast runs change); a line printed between moves
 * the block down without rendering it anew.
 */
export class LiveBlock {
  private lines: string[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly render: (width: number) => string[],
  ) {}

  start(): void {
    this.update();
    this.timer = setInterval(() => this.update(), REDRAW_MS);
    this.timer.unref();
  }

  /** Prints `text` (one or more lines) above the block. */
  print(text: string): void {
    this.stream.write(`${eraseBlock(this.drawn)}${text}\n${this.lines.join("\n")}`);
    this.drawn = this.lines.length;
  }

  /** Renders the figures again and draws them in place. */
  update(): void {
    this.lines = this.render(this.stream.columns || 120);
    this.stream.write(`${eraseBlock(this.drawn)}${this.lines.join("\n")}`);
    this.drawn = this.lines.length;
  }

  /** Stops the timer and leaves `last` (the final picture) in place of the block. */
  stop(last: string[]): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stream.write(`${eraseBlock(this.drawn)}${last.join("\n")}\n`);
    this.drawn = 0;
  }
}

/** The final picture: the block without the spinner. */
export function finalPicture(model: ProgressModel, width: number): string[] {
  return renderProgress(model, width).map((line, i) => (i === 0 ? line.slice(2) : line));
}

/** The plain line of a task run that ended (no terminal, or `--no-progress`). */
export function endedLine(taskKey: string, state: { timestamp: number; name: string; message?: string | null }): string {
  return `${new Date(state.timestamp).toISOString().slice(11, 23)} | task ${taskKey} -> ${state.name}${state.message ? ` (${state.message})` : ""}`;
}

export interface LiveViewOptions {
  stream?: NodeJS.WriteStream;
  /** The dashboard's address (a server is known): the view links to the run. */
  dashboard?: ((flowRunId: string) => string) | null;
  /** false (`--no-progress`): plain lines even on a terminal. */
  progress?: boolean;
}

export function startLiveView(runtime: Runtime, flowName: string, options: LiveViewOptions = {}): { stop(): void } {
  const stream = options.stream ?? process.stderr;
  const tallies = new TaskTallies();
  const started = Date.now();
  let frame = 0;
  let link: string | null = null;

  const model = (): ProgressModel => ({ flowName, tasks: tallies.tasks, elapsedMs: Date.now() - started, link, frame: frame++ });
  const block = drawsProgress(stream, options.progress) ? new LiveBlock(stream, (width) => renderProgress(model(), width)) : null;

  const previousWrite = consoleOutput.write;
  if (block) consoleOutput.write = (line) => block.print(line);
  runtime.batcher.observer = (ops: readonly WriteOp[]) => {
    for (const op of ops) {
      if (op.kind !== "taskRun") continue;
      const { id, taskKey, taskName, state, flowRunId } = op.taskRun;
      // The first task run belongs to the flow run started here (sub-flows start later).
      if (link === null && options.dashboard) link = options.dashboard(flowRunId);
      const ended = tallies.apply(id, taskName, state.type);
      if (!block && ended) stream.write(`${endedLine(taskKey, state)}\n`);
    }
  };
  block?.start();
  return {
    stop: () => {
      block?.stop(finalPicture(model(), stream.columns || 120));
      runtime.batcher.observer = null;
      consoleOutput.write = previousWrite;
    },
  };
}
