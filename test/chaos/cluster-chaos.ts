/**
 * The cluster chaos suite: Baton as it runs across machines, under the faults machines have.
 *
 *   - PostgreSQL: a private cluster of the suite's own (pg-cluster.ts), restarted with
 *     `-m immediate` (every backend killed, crash recovery) — never the shared server;
 *   - two server replicas on the hub (this machine's root namespace), on one database, electing
 *     the one that runs the scheduler and the sweeps;
 *   - three workers, each on a host of its own (a network namespace, netns.ts) that reaches the
 *     replicas only over its veth link; their runs' processes talk to the same replica.
 *
 * It starts `runs` runs of a deployment whose flow has sequential and mapped tasks under a tag
 * concurrency limit, and a deployment scheduled every few seconds, and meanwhile injects faults
 * in turn: SIGKILL a worker (restarted a second later, as a supervisor would), SIGKILL a run's
 * process, SIGKILL the leading replica (restarted on its port), restart PostgreSQL, cut a worker
 * host's link for 10 s. Once the runs settle it counts what must all be 0: runs lost, runs not
 * Completed, finished tasks that ran again, concurrency slots still held, runs stuck, schedule
 * slots fired twice or skipped.
 */
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import type { KyselyStore } from "../../src/store/kysely-store.ts";
import { openStore } from "../../src/store/open.ts";
import { KyselyOrchestrationStore } from "../../src/store/orchestration-store.ts";
import type { Deployment, FlowRun } from "../../src/store/types.ts";
import { makeCertificates } from "../support/certificates.ts";
import { makeNetwork, type Host, type Network } from "../support/netns.ts";
import { freePort, startPrivateCluster, type PrivateCluster } from "../support/pg-cluster.ts";
import { startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";

const FLOWS = path.join(import.meta.dirname, "fixtures", "cluster-flows.ts");

export const FAULT_KINDS = ["kill worker", "kill run process", "kill leading replica", "restart PostgreSQL", "cut a host's link for 10 s"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  /** Runs of the mapped deployment to start (spread over the first part of the suite). */
  runs: number;
  /** Faults to inject at least (in turn over FAULT_KINDS); more while runs are still being made. */
  faults: number;
  /** Pause between two faults (ms). */
  faultGapMs: number;
  /** Mapped training tasks per run. */
  width?: number;
  /** How long the runs get to end after the last fault (ms; default 5 minutes). */
  settleMs?: number;
  /** Progress lines (what the suite is doing), e.g. to stderr. */
  log?: (line: string) => void;
}

export interface ChaosCounts {
  runsLost: number;
  runsNotCompleted: number;
  finishedTasksRanAgain: number;
  slotsStillHeld: number;
  runsStuck: number;
  scheduleSlotsFiredTwice: number;
  scheduleSlotsSkipped: number;
}

export interface ChaosReport {
  runs: number;
  scheduledRuns: number;
  /** Slots of the schedule from its first to the end of the faults. */
  scheduleSlots: number;
  taskRuns: number;
  /** Task bodies begun, as the tasks logged them (at least one per task run). */
  taskStarts: number;
  faults: Record<FaultKind, number>;
  /** How long the other replica took to lead after each kill of the leader (ms). */
  failoverMs: number[];
  counts: ChaosCounts;
  /** From the first run made to the last run ended (ms). */
  durationMs: number;
  /** Not Completed / stuck runs and tasks that ran again, for the failure message. */
  problems: string[];
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]);
const TICK_MS = 5000;
const HEARTBEAT_MS = 5000;
const LEASE_TTL_MS = 5000;
const WORKER_KEY = "chaos-worker-key-0001";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  port: number;
  url: string;
  proc: Proc;
}

interface HostWorker {
  host: Host;
  replica: number;
  proc: Proc;
}

export async function runClusterChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.log ?? (() => undefined);
  const width = options.width ?? 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-cluster-chaos-"));
  const chaosLog = path.join(dir, "chaos.log");
  let cluster: PrivateCluster | undefined;
  let network: Network | undefined;
  let store: KyselyStore | undefined;
  const replicas: Replica[] = [];
  const workers: HostWorker[] = [];
  try {
    cluster = await startPrivateCluster();
    const url = await cluster.createDatabase("chaos");
    // The suite's own connection rides out the restarts it makes.
    store = await openStore(url, { retryMs: 120_000 });
    const orchestration = new KyselyOrchestrationStore(store);
    await orchestration.upsertWorkPool({ name: "chaos" });
    await orchestration.upsertConcurrencyLimit({ name: "gpu", limit: 3 });
    const job = await orchestration.upsertDeployment({ name: "chaos-job", flowName: "chaosJob", entrypoint: `${FLOWS}:chaosJob`, workPool: "chaos", retries: 20, retryDelayMs: 500 });
    network = await makeNetwork(3);
    const hub = network.hub;

    // Two replicas on the hub's address, over HTTPS with a private CA (workers refuse plain
    // http to another machine), on ports kept across their restarts.
    const certs = makeCertificates(dir, [hub]);
    const replicaEnv = (i: number) => ({ BATON_DATABASE_URL: url, BATON_HOME: path.join(dir, `replica-${i}`), BATON_SERVER_API_KEYS: `worker:${WORKER_KEY}`, BATON_DATABASE_RETRY_MS: "120000" });
    const startReplica = async (i: number, port: number): Promise<Replica> => {
      const { proc, url: base } = await startServerProcess(replicaEnv(i), ["--host", hub, "--tls-cert", certs.cert, "--tls-key", certs.key], port);
      return { port, url: base, proc };
    };
    for (let i = 0; i < 2; i++) replicas.push(await startReplica(i, await freePort(hub)));
    const health = async (r: Replica): Promise<{ isLeader: boolean } | null> => {
      try {
        const body = await getJson(`${r.url}/api/health`, certs.ca);
        return (body as { leadership: { isLeader: boolean } } | null)?.leadership ?? null;
      } catch {
        return null;
      }
    };
    await until(async () => (await Promise.all(replicas.map(health))).some((h) => h?.isLeader), "a replica to lead", 30_000);

    // Made after a replica leads: its scheduler makes the slots from now on.
    const tick = await orchestration.upsertDeployment({
      name: "chaos-tick", flowName: "chaosTick", entrypoint: `${FLOWS}:chaosTick`, workPool: "chaos", retries: 20, retryDelayMs: 500,
      schedules: [{ spec: { kind: "interval", intervalMs: TICK_MS, anchor: 0 }, active: true }],
    });

    // A worker per host, host i talking to replica i % 2 (as through its nearest load balancer).
    const startWorker = (host: Host, replica: number): Proc =>
      host.baton(["worker", "start", "--pool", "chaos", "--limit", "4", "--poll-ms", "500", "--heartbeat-ms", String(HEARTBEAT_MS), "--shutdown-grace-ms", "1000"], {
        BATON_API_URL: `${replicas[replica]!.url}/api`,
        BATON_API_KEY: WORKER_KEY,
        BATON_CA_FILE: certs.ca,
        BATON_API_RETRY_MS: "120000",
        BATON_HOME: path.join(dir, host.name),
        BATON_HEARTBEAT_MS: String(HEARTBEAT_MS),
        BATON_LEASE_TTL_MS: String(LEASE_TTL_MS),
        BATON_LOG_LEVEL: "warn",
        CHAOS_LOG: chaosLog,
        CHAOS_HOST: host.name,
      });
    network.hosts.forEach((host, i) => workers.push({ host, replica: i % 2, proc: startWorker(host, i % 2) }));
    await sleep(1500);
    for (const w of workers) if (w.proc.child.exitCode !== null) throw new Error(`the worker on ${w.host.name} exited: ${w.proc.stderr()}`);

    // The runs, made in waves while the faults come.
    const made: FlowRun[] = [];
    const createRun = (d: Deployment) =>
      store!.createFlowRun({
        id: newId(), flowName: d.flowName, name: `chaos-${made.length}`, parentFlowRunId: null, parentTaskRunId: null, parameters: { width }, tags: [], version: null,
        entrypoint: d.entrypoint, deploymentId: d.id, workPool: d.workPool, workQueue: d.workQueue, state: makeState("Scheduled", { scheduledAt: Date.now() }),
      });
    const startedAt = Date.now();
    const making = (async () => {
      const wave = Math.max(1, Math.ceil(options.runs / 12));
      while (made.length < options.runs) {
        for (let i = 0; i < wave && made.length < options.runs; i++) made.push(await createRun(job));
        await sleep(1500);
      }
    })();

    // The faults, in turn.
    const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
    const failoverMs: number[] = [];
    let lastProgress = Date.now();
    const runsEnded = async () => {
      const runs = await Promise.all(made.map((r) => store!.getFlowRun(r.id)));
      if (Date.now() - lastProgress > 20_000) {
        lastProgress = Date.now();
        const by = new Map<string, number>();
        for (const r of runs) by.set(r?.state.name ?? "missing", (by.get(r?.state.name ?? "missing") ?? 0) + 1);
        say(`${Math.round((Date.now() - startedAt) / 1000)} s: ${made.length} runs made: ${[...by].map(([k, n]) => `${n} ${k}`).join(", ")}`);
      }
      return made.length >= options.runs && runs.every((r) => r && TERMINAL.has(r.state.type));
    };
    const pids = () => {
      const byRun = new Map<string, number>();
      for (const line of lines(chaosLog)) {
        const [kind, run, pid] = line.split(" ");
        if (kind === "pid") byRun.set(run!, Number(pid));
      }
      return byRun;
    };
    let injected = 0;
    let misses = 0;
    let creationDone = false;
    void making.then(() => (creationDone = true));
    // The faults begin once runs are under way: a run's process has started its flow.
    await until(async () => pids().size > 0, "a run's process to start its flow", 180_000);
    while (injected < options.faults || (!creationDone && !(await runsEnded()))) {
      const kind = FAULT_KINDS[injected % FAULT_KINDS.length]!;
      const at = Date.now();
      switch (kind) {
        case "kill worker": {
          const w = workers[injected % workers.length]!;
          w.proc.child.kill("SIGKILL");
          await w.proc.exit;
          await sleep(1000);
          w.proc = startWorker(w.host, w.replica);
          say(`fault: SIGKILLed the worker on ${w.host.name}; started again`);
          break;
        }
        case "kill run process": {
          const running = (await store.listFlowRuns({ deploymentId: job.id, limit: 500 })).filter((r) => r.state.type === "RUNNING");
          const byRun = pids();
          const target = running.find((r) => byRun.has(r.id));
          if (!target) {
            // None running this moment: look again shortly, and give up on this one after a while.
            if (++misses < 20) {
              await sleep(500);
              continue;
            }
            say(`fault: found no run process to kill for 10 s (${running.length} running, ${byRun.size} pids logged); skipped`);
            misses = 0;
            injected += 1;
            continue;
          }
          misses = 0;
          try {
            process.kill(byRun.get(target.id)!, "SIGKILL");
          } catch {
            say(`fault: run ${target.id}'s process had already ended; skipped`);
            await sleep(500);
            continue;
          }
          say(`fault: SIGKILLed the process of run ${target.id}`);
          break;
        }
        case "kill leading replica": {
          const states = await Promise.all(replicas.map(health));
          const leader = states.findIndex((h) => h?.isLeader);
          if (leader < 0) {
            say("fault: no replica leads right now; skipped");
            await sleep(1000);
            continue;
          }
          const other = 1 - leader;
          replicas[leader]!.proc.child.kill("SIGKILL");
          await replicas[leader]!.proc.exit;
          const killedAt = Date.now();
          await until(async () => (await health(replicas[other]!))?.isLeader, "the other replica to lead", 60_000);
          failoverMs.push(Date.now() - killedAt);
          replicas[leader] = await startReplica(leader, replicas[leader]!.port);
          say(`fault: SIGKILLed the leading replica ${leader}; replica ${other} led ${failoverMs.at(-1)} ms later; ${leader} restarted`);
          break;
        }
        case "restart PostgreSQL":
          await cluster.restart();
          say("fault: restarted PostgreSQL (-m immediate)");
          break;
        case "cut a host's link for 10 s": {
          const host = network.hosts[Math.floor(injected / FAULT_KINDS.length) % network.hosts.length]!;
          await host.cut(10_000);
          say(`fault: cut ${host.name}'s link for 10 s`);
          break;
        }
      }
      faults[kind] += 1;
      injected += 1;
      await sleep(Math.max(0, options.faultGapMs - (Date.now() - at)));
    }
    await making;

    // Settle: every run ends (a crashed one is found by the sweeps and retried by its deployment).
    const settled = await until(runsEnded, "the runs to end", options.settleMs ?? 300_000).then(
      () => true,
      () => false,
    );
    const endedAt = Date.now();
    say(settled ? `all ${made.length} runs ended` : `runs still open after ${(options.settleMs ?? 300_000) / 1000} s`);
    if (!settled)
      for (const r of (await Promise.all(made.map((m) => store!.getFlowRun(m.id)))).filter((r) => r && !TERMINAL.has(r.state.type)).slice(0, 10)) {
        const tasks = await store.listTaskRuns(r!.id);
        say(`open: run ${r!.id} ${r!.state.name} (${r!.state.message ?? ""}) worker ${r!.workerId}; tasks ${tasks.map((t) => `${t.taskKey}:${t.state.name}`).join(" ")}`);
      }
    if (!settled) for (const w of workers) say(`worker on ${w.host.name} printed:\n${w.proc.stdout().slice(-1500)}\n${w.proc.stderr().slice(-3000)}`);
    // The schedule's slots up to now, before the pause drops those no worker took yet.
    const stopTicksAt = Date.now();
    const slots = new Map<number, number>();
    for (const r of await store.listFlowRuns({ deploymentId: tick.id, limit: 1000 }))
      if (r.expectedStartTime != null && r.expectedStartTime <= stopTicksAt) slots.set(r.expectedStartTime, (slots.get(r.expectedStartTime) ?? 0) + 1);
    // The schedule stops (its Scheduled and Late runs go); those that started get a moment to finish.
    await orchestration.setDeploymentPaused(tick.id, true);
    await until(async () => (await store!.listFlowRuns({ deploymentId: tick.id, limit: 1000 })).every((r) => TERMINAL.has(r.state.type)), "the scheduled runs to end", 120_000).catch(() => undefined);
    // Leases of killed holders free themselves within their TTL.
    await until(async () => (await orchestration.listConcurrencyLimits()).every((l) => l.activeSlots === 0), "the gpu slots to be free", LEASE_TTL_MS * 3).catch(() => undefined);

    const problems: string[] = [];
    const finalRuns = await Promise.all(made.map((r) => store!.getFlowRun(r.id)));
    const tickRuns = await store.listFlowRuns({ deploymentId: tick.id, limit: 1000 });
    const counted = [...finalRuns.filter((r): r is FlowRun => r !== undefined), ...tickRuns];
    const runsLost = finalRuns.filter((r) => r === undefined).length;
    const notCompleted = counted.filter((r) => r.state.type !== "COMPLETED");
    const stuck = counted.filter((r) => !TERMINAL.has(r.state.type));
    for (const r of notCompleted) problems.push(`run ${r.id} (${r.flowName}) ended ${r.state.name}: ${r.state.message ?? ""}`);

    // A task that started after its task run was recorded Completed ran again.
    const starts = lines(chaosLog).filter((l) => l.startsWith("start ")).map((l) => l.split(" "));
    let taskRuns = 0;
    let ranAgain = 0;
    const completedAt = new Map<string, number>();
    for (const r of counted) {
      const tasks = await store.listTaskRuns(r.id);
      taskRuns += tasks.length;
      for (const t of tasks) if (t.state.type === "COMPLETED") completedAt.set(`${r.id} ${t.taskKey}`, t.endTime ?? t.state.timestamp);
    }
    for (const [, run, key, at, host] of starts) {
      const done = completedAt.get(`${run} ${key}`);
      if (done !== undefined && Number(at) > done) {
        ranAgain += 1;
        problems.push(`task ${key} of run ${run} started on ${host} at ${new Date(Number(at)).toISOString()}, after it completed at ${new Date(done).toISOString()}`);
      }
    }

    const limits = await orchestration.listConcurrencyLimits();
    const slotsStillHeld = limits.reduce((n, l) => n + l.activeSlots, 0);

    // Schedule slots: each fired once, none skipped from the first to the stop.
    const firedTwice = [...slots.values()].filter((n) => n > 1).length;
    const times = [...slots.keys()].sort((a, b) => a - b);
    let skipped = 0;
    for (let t = times[0] ?? 0; times.length && t <= stopTicksAt; t += TICK_MS) if (!slots.has(t)) skipped += 1;
    if (skipped) problems.push(`schedule slots without a run: ${skipped} (slots made: ${times.map((t) => new Date(t).toISOString().slice(11, 19)).join(" ")})`);
    if (!times.length) problems.push("the schedule made no runs");

    return {
      runs: made.length,
      scheduledRuns: tickRuns.length,
      scheduleSlots: times.length,
      taskStarts: starts.length,
      taskRuns,
      faults,
      failoverMs,
      counts: {
        runsLost,
        runsNotCompleted: notCompleted.length,
        finishedTasksRanAgain: ranAgain,
        slotsStillHeld,
        runsStuck: stuck.length,
        scheduleSlotsFiredTwice: firedTwice,
        scheduleSlotsSkipped: skipped,
      },
      durationMs: endedAt - startedAt,
      problems,
    };
  } catch (error) {
    const tails = [...replicas.map((r, i) => `replica ${i}:\n${r.proc.stderr().slice(-2000)}`), ...workers.map((w) => `worker on ${w.host.name}:\n${w.proc.stderr().slice(-2000)}`)];
    throw new Error(`${(error as Error).message}\n${tails.join("\n---\n")}`, { cause: error });
  } finally {
    await Promise.all(workers.map((w) => stopProcess(w.proc, 3000)));
    await Promise.all(replicas.map((r) => stopProcess(r.proc, 3000)));
    await store?.close().catch(() => undefined);
    await network?.destroy();
    await cluster?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** GET `url` over HTTPS trusting `caFile`; the JSON body, or null when it does not answer 200 within 2 s. */
function getJson(url: string, caFile: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca: fs.readFileSync(caFile), timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body) : null);
        } catch {
          resolve(null);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** The report as the suite prints it (and docs/reliability.md quotes it). */
export function formatReport(report: ChaosReport): string {
  const rows: [string, string | number][] = [
    ["runs of the mapped deployment", report.runs],
    ["schedule slots (runs started)", `${report.scheduleSlots} (${report.scheduledRuns})`],
    ["task runs (bodies begun)", `${report.taskRuns} (${report.taskStarts})`],
    ...FAULT_KINDS.map((k): [string, number] => [`faults: ${k}`, report.faults[k]]),
    ["leader failover (ms)", report.failoverMs.join(", ") || "-"],
    ["time to settle (s)", (report.durationMs / 1000).toFixed(0)],
    ["runs lost", report.counts.runsLost],
    ["runs not Completed", report.counts.runsNotCompleted],
    ["finished tasks that ran again", report.counts.finishedTasksRanAgain],
    ["concurrency slots still held", report.counts.slotsStillHeld],
    ["runs stuck Pending or Running", report.counts.runsStuck],
    ["schedule slots fired twice", report.counts.scheduleSlotsFiredTwice],
    ["schedule slots skipped", report.counts.scheduleSlotsSkipped],
  ];
  const widest = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(widest)}  ${v}`).join("\n");
}
