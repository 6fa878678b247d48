/** Helpers for tests that drive real processes: polling for a condition, running the CLI. */
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

/** Processes started by this test file that have not exited yet. */
const live = new Set<ChildProcess>();

/**
 * SIGKILLs every process this test file started that is still running: a test that fails half
 * way must not leave servers and workers behind (test/support/cleanup.ts calls it after each file).
 */
export async function killStartedProcesses(): Promise<number> {
  const left = [...live];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          if (!child.kill("SIGKILL")) resolve();
        }),
    ),
  );
  return left.length;
}

/** Starts `node ARGV` in the project root (or `cwd`) with extra environment, capturing its output. */
export function startProcess(argv: string[], env: Record<string, string>, cwd = ROOT): Proc {
  const child = spawn(process.execPath, argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}
