/**
 * Measures what runs use (core/resources.ts says what each figure means).
 *
 * Cost on the hot path: a task on the event loop makes no system call. Its CPU time is how long
 * its synchronous part held the event loop's thread (`performance.now()`, read through the vDSO):
 * that thread runs nothing else meanwhile, so this is its CPU time unless the part blocked in a
 * synchronous call (fs.*Sync, Atomics.wait) or the OS preempted the thread. System time is not
 * told apart (null). Measured: two `process.resourceUsage()` calls per task (getrusage, ~2 µs
 * each on the test machine) cost a 10,000-task fan-out 10–16% of its throughput (bench/ab.ts),
 * which no figure of a sub-millisecond task is worth; timed this way, no difference beyond the
 * machine's noise (docs/usage.md has the figures). Memory is read only after a synchronous
 * part of 1 ms or more (one getrusage and a /proc read). A thread task measures its own thread
 * exactly, in the thread (Linux: /proc/thread-self/stat), around the call.
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { addAttempt, type AttemptUsage, type RunResources } from "../core/resources.ts";

/** A synchronous part shorter than this leaves the resident size unread (a read costs more than such a task). */
const RSS_FROM_MS = 1;

const KB = 1024;

/** The process's peak resident size (KB) when last read: a new peak since is a task's that ran in between. */
let lastMaxRssKb = 0;

/** The process's resident memory after a long synchronous part: the process's new peak if it reached one, else its resident size now. */
function residentAfter(maxRssBeforeKb: number): number {
  const now = process.resourceUsage().maxRSS;
  lastMaxRssKb = now;
  return now > maxRssBeforeKb ? now * KB : process.memoryUsage.rss();
}

/** The peak resident memory of a stretch of work that began at `maxRssBefore` (KB) and lasted `ms`. */
function peakAfter(maxRssBeforeKb: number, maxRssAfterKb: number, ms: number): number | null {
  // The process reached a new peak while it ran: that peak was this work's.
  if (maxRssAfterKb > maxRssBeforeKb) return maxRssAfterKb * KB;
  return ms >= RSS_FROM_MS ? process.memoryUsage.rss() : null;
}

/** One attempt of a task on the flow's event loop (or on a thread: `addThreadUsage`). */
export class AttemptMeter {
  private readonly startedAt = performance.now();
  private cpuUserUs: number | null = null;
  private cpuSystemUs: number | null = null;
  private peak: number | null = null;
  /** A thread task's wall time as its thread measured it (the thread's start and the module's import left out). */
  private threadWallMs: number | null = null;

  /** Runs the task's synchronous part, timing how long it holds the event loop's thread. */
  sync<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const held = performance.now() - t0;
      this.cpuUserUs = (this.cpuUserUs ?? 0) + held * 1000;
      if (held >= RSS_FROM_MS) this.notePeak(residentAfter(lastMaxRssKb));
    }
  }

  /** What a thread measured of itself (thread-task.ts). */
  addThreadUsage(usage: AttemptUsage): void {
    this.threadWallMs = usage.wallMs;
    this.cpuUserUs = usage.cpuUserMs == null ? this.cpuUserUs : (this.cpuUserUs ?? 0) + usage.cpuUserMs * 1000;
    this.cpuSystemUs = usage.cpuSystemMs == null ? this.cpuSystemUs : (this.cpuSystemUs ?? 0) + usage.cpuSystemMs * 1000;
    this.notePeak(usage.peakMemoryBytes);
  }

  private notePeak(bytes: number | null): void {
    if (bytes != null && (this.peak == null || bytes > this.peak)) this.peak = bytes;
  }

  /** The attempt's measures, its wall time ending now. */
  finish(): AttemptUsage {
    return {
      wallMs: this.threadWallMs ?? Math.round(performance.now() - this.startedAt),
      cpuUserMs: this.cpuUserUs == null ? null : Math.round(this.cpuUserUs / 1000),
      cpuSystemMs: this.cpuSystemUs == null ? null : Math.round(this.cpuSystemUs / 1000),
      peakMemoryBytes: this.peak,
    };
  }
}

/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** This thread's user and system CPU time (ms) from /proc/thread-self/stat, or null off Linux. */
function threadCpuMs(): { user: number; system: number } | null {
  let text: string;
  try {
    text = fs.readFileSync("/proc/thread-self/stat", "utf8");
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 14th and 15th.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return null;
  return { user: (user * 1000) / TICKS_PER_SECOND, system: (system * 1000) / TICKS_PER_SECOND };
}

/**
 * Measures a task inside its worker thread. The thread runs one task at a time, so its own CPU
 * time over the call is the task's, `await`s included. Off Linux (no per-thread CPU time before
 * Node 23's `process.threadCpuUsage`), the thread's event-loop active time stands for user CPU.
 */
export async function measureInThread<T>(fn: () => Promise<T>): Promise<{ value: T; usage: AttemptUsage }> {
  const t0 = performance.now();
  const cpu0 = threadCpuMs();
  const elu0 = cpu0 ? null : performance.eventLoopUtilization();
  const maxRss0 = process.resourceUsage().maxRSS;
  const value = await fn();
  const wall = performance.now() - t0;
  const cpu1 = threadCpuMs();
  let cpuUserMs: number | null = null;
  let cpuSystemMs: number | null = null;
  if (cpu0 && cpu1) {
    cpuUserMs = Math.round(cpu1.user - cpu0.user);
    cpuSystemMs = Math.round(cpu1.system - cpu0.system);
  } else if (elu0) {
    cpuUserMs = Math.round(performance.eventLoopUtilization(elu0).active);
  }
  const peak = peakAfter(maxRss0, process.resourceUsage().maxRSS, wall);
  return { value, usage: { wallMs: Math.round(wall), cpuUserMs, cpuSystemMs, peakMemoryBytes: peak } };
}

/**
 * A flow run in its process: from its Running state to its final state, the process's CPU time
 * (the tasks' on the event loop and on threads included) and its lifetime peak resident memory.
 * Attempts that fail and are retried add to the retried share.
 */
export class FlowRunMeter {
  private readonly startedAt = performance.now();
  private readonly cpu0 = process.cpuUsage();
  private attemptAt = this.startedAt;
  private attemptCpu = this.cpu0;
  private retriedWallMs = 0;
  private retriedCpuMs = 0;

  /** `prior`: what earlier starts of the run recorded (a resumed run adds to them). */
  constructor(private readonly prior: RunResources | null) {}

  /** The attempt now ending failed and the run will try again. */
  attemptRetried(): void {
    const now = performance.now();
    const cpu = process.cpuUsage(this.attemptCpu);
    this.retriedWallMs += now - this.attemptAt;
    this.retriedCpuMs += (cpu.user + cpu.system) / 1000;
    this.attemptAt = now;
    this.attemptCpu = process.cpuUsage();
  }

  /** Everything the run used so far (earlier starts included). */
  total(): RunResources {
    const cpu = process.cpuUsage(this.cpu0);
    const here = addAttempt(
      null,
      { wallMs: Math.round(performance.now() - this.startedAt), cpuUserMs: Math.round(cpu.user / 1000), cpuSystemMs: Math.round(cpu.system / 1000), peakMemoryBytes: process.resourceUsage().maxRSS * KB },
      false,
    );
    here.retriedWallMs = Math.round(this.retriedWallMs);
    here.retriedCpuMs = Math.round(this.retriedCpuMs);
    if (!this.prior) return here;
    const p = this.prior;
    return {
      wallMs: p.wallMs + here.wallMs,
      cpuUserMs: (p.cpuUserMs ?? 0) + (here.cpuUserMs ?? 0),
      cpuSystemMs: (p.cpuSystemMs ?? 0) + (here.cpuSystemMs ?? 0),
      peakMemoryBytes: Math.max(p.peakMemoryBytes ?? 0, here.peakMemoryBytes ?? 0),
      retriedWallMs: p.retriedWallMs + here.retriedWallMs,
      retriedCpuMs: p.retriedCpuMs + here.retriedCpuMs,
    };
  }
}
