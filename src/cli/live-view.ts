/**
 * The live view of `baton run`: on a terminal, a status line under the logs that counts the
 * flow's task runs by state; elsewhere (CI logs, pipes), one plain line per task run that
 * starts or ends.
 */
import type { WriteOp } from "../store/types.ts";
import { consoleOutput } from "../engine/run-logger.ts";
import type { Runtime } from "../engine/runtime.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function startLiveView(runtime: Runtime, flowName: string, stream: NodeJS.WriteStream = process.stderr): { stop(): void } {
  const states = new Map<string, string>();
  const keys = new Map<string, string>();
  const started = Date.now();
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let frame = 0;
  let lastLine = "";

  const status = () => {
    const counts = new Map<string, number>();
    for (const name of states.values()) counts.set(name, (counts.get(name) ?? 0) + 1);
    const summary = [...counts].map(([name, n]) => `${n} ${name}`).join(", ") || "no task runs yet";
    return `${SPINNER[frame++ % SPINNER.length]} ${flowName} · ${states.size} task runs: ${summary} · ${((Date.now() - started) / 1000).toFixed(1)} s`;
  };
  const clear = () => {
    if (tty && lastLine) stream.write("\r\u001b[K");
  };
  const draw = () => {
    if (!tty) return;
    lastLine = status().slice(0, (stream.columns || 120) - 1);
    stream.write(`\r\u001b[K${lastLine}`);
  };

  const previousWrite = consoleOutput.write;
  consoleOutput.write = (line) => {
    clear();
    stream.write(line + "\n");
    draw();
  };
  runtime.batcher.observer = (ops: readonly WriteOp[]) => {
    for (const op of ops) {
      if (op.kind !== "taskRun") continue;
      const { id, taskKey, state } = op.taskRun;
      const before = states.get(id);
      if (before === state.name) continue;
      states.set(id, state.name);
      keys.set(id, taskKey);
      if (!tty && ["RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(state.type))
        stream.write(`${new Date(state.timestamp).toISOString().slice(11, 23)} | task ${taskKey} -> ${state.name}${state.message && state.type !== "RUNNING" ? ` (${state.message})` : ""}\n`);
    }
  };
  const timer = tty ? setInterval(draw, 100) : null;
  timer?.unref();
  return {
    stop: () => {
      if (timer) clearInterval(timer);
      if (tty) {
        clear();
        stream.write(`${status().slice(2)}\n`);
      }
      runtime.batcher.observer = null;
      consoleOutput.write = previousWrite;
    },
  };
}
