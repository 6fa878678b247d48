/**
 * What a run used, as its runner measured it (engine/resource-meter.ts) and the store keeps it
 * (flow_runs and task_runs, written with the final state). Pure: the shape and how attempts add
 * up.
 *
 * - `wallMs`: time spent running its attempts (a task's Pending waits and retry sleeps excluded;
 *   a flow run's whole time in its process, from Running to its final state).
 * - `cpuUserMs` / `cpuSystemMs`: CPU time. A flow run: its process's (getrusage), over the run.
 *   A task on a worker thread: that thread's own (Linux `/proc/thread-self/stat`; elsewhere the
 *   thread's event-loop active time, as user time). A task on the flow's event loop: how long its
 *   synchronous part (up to its first `await`) held the event loop's thread, as user time, system
 *   time null — that thread's CPU time unless the part blocked in a synchronous call or the OS
 *   preempted it; what it does after an `await` is not attributed (engine/resource-meter.ts says
 *   why: the cost of a system call per task).
 * - `peakMemoryBytes`: resident memory of the process (threads share it). A flow run's: the
 *   process's peak over its lifetime (several flows run in one process share it). A task's: the
 *   process's resident size when its work ended, or the process's peak if a new one was reached
 *   since the previous reading; read only for a task whose synchronous part (on a thread: its
 *   call) took 1 ms or more, else null.
 * - `retriedWallMs` / `retriedCpuMs`: the share of the above spent in attempts that failed and
 *   were retried.
 */

export interface RunResources {
  wallMs: number;
  cpuUserMs: number | null;
  cpuSystemMs: number | null;
  peakMemoryBytes: number | null;
  retriedWallMs: number;
  retriedCpuMs: number;
}

/** One attempt's measures (ms and bytes; CPU null where it was not measured). */
export interface AttemptUsage {
  wallMs: number;
  cpuUserMs: number | null;
  cpuSystemMs: number | null;
  peakMemoryBytes: number | null;
}

const plus = (a: number | null, b: number | null): number | null => (a == null ? b : b == null ? a : a + b);
const max = (a: number | null, b: number | null): number | null => (a == null ? b : b == null ? a : Math.max(a, b));

/** `total` with one more attempt added (`retried`: it failed and another attempt follows). */
export function addAttempt(total: RunResources | null, attempt: AttemptUsage, retried: boolean): RunResources {
  const cpu = (attempt.cpuUserMs ?? 0) + (attempt.cpuSystemMs ?? 0);
  return {
    wallMs: (total?.wallMs ?? 0) + attempt.wallMs,
    cpuUserMs: plus(total?.cpuUserMs ?? null, attempt.cpuUserMs),
    cpuSystemMs: plus(total?.cpuSystemMs ?? null, attempt.cpuSystemMs),
    peakMemoryBytes: max(total?.peakMemoryBytes ?? null, attempt.peakMemoryBytes),
    retriedWallMs: (total?.retriedWallMs ?? 0) + (retried ? attempt.wallMs : 0),
    retriedCpuMs: (total?.retriedCpuMs ?? 0) + (retried ? cpu : 0),
  };
}
