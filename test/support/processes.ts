/**
 * Helpers for tests that drive real processes: polling for a condition, running the CLI,
 * starting `baton server start`. Every process started here is listed until it exits, so a
 * test can check that a harness left nothing running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ROOT, "bin/baton.js");

/** Polls `probe` every 25 ms until it returns something truthy; fails after `ms`. */
export async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `baton ARGS` to completion. */
export async function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startProcess([BIN, ...args], env);
  const code = await proc.exit;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

/** The processes this test file started, in order, and those of them that have not exited. */
const started: Proc[] = [];
const running = new Set<Proc>();

/** Every process started here (in this test file) since `since` (a `startedCount()`), with whether it still runs. */
export function startedSince(since: number): { proc: Proc; running: boolean }[] {
  return started.slice(since).map((proc) => ({ proc, running: running.has(proc) }));
}

/** How many processes this test file has started so far (a mark for `startedSince`). */
export function startedCount(): number {
  return started.length;
}

/**
 * SIGKILLs every process this test file started that is still running: a test that fails half
 * way must not leave servers and workers behind (test/support/cleanup.ts calls it after each file).
 */
export async function killStartedProcesses(): Promise<number> {
  const left = [...running];
  for (const proc of left) proc.child.kill("SIGKILL");
  await Promise.all(left.map((proc) => proc.exit));
  return left.length;
}

/**
 * Starts `node ARGV` in the project root (or `cwd`) with extra environment, capturing its output.
 * `wrapper` runs it through a command that execs it (`ip netns exec NAME`): the pid is node's.
 */
export function startProcess(argv: string[], env: Record<string, string>, cwd = ROOT, wrapper: string[] = []): Proc {
  const [command, ...args] = [...wrapper, process.execPath, ...argv];
  const child = spawn(command!, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const proc = { child, stdout: () => out, stderr: () => err, exit };
  started.push(proc);
  running.add(proc);
  void exit.then(() => running.delete(proc));
  return proc;
}

/** Ends a process (SIGTERM, SIGKILL after `graceMs`) and waits for it to exit. */
export async function stopProcess(proc: Proc, graceMs = 10_000): Promise<void> {
  if (!running.has(proc)) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await proc.exit;
  clearTimeout(timer);
}

/**
 * Starts `baton server start --port 0 ARGS` and waits for its "listening on" line. A server
 * that exits first fails with its stderr; one that does not come up in time (90 s: a loaded
 * machine starts one in tens of seconds) is stopped before
 * the error is thrown, so no failed start leaves a server running after the tests.
 */
export async function startServerProcess(env: Record<string, string>, args: string[] = [], port = 0): Promise<{ proc: Proc; url: string }> {
  const proc = startProcess([BIN, "server", "start", "--port", String(port), ...args], { BATON_SERVER_LOG_LEVEL: "warn", ...env });
  try {
    const url = await until(() => /listening on (https?:\/\/\S+) /.exec(proc.stdout())?.[1] ?? (proc.child.exitCode !== null ? Promise.reject(new Error(`the server exited: ${proc.stderr()}`)) : undefined), "the server", 90_000);
    return { proc, url };
  } catch (error) {
    await stopProcess(proc);
    throw error;
  }
}
