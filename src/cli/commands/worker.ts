/** `baton worker start|ls`, `baton work-pool ...` and the hidden `execute-flow-run`. */
import { describePrices, priceFlag, pricesFromOptions, withPriceOptions, type PriceOptions } from "../pool-prices.ts";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { compileAllowEnv, compileJobVariables } from "../../core/job-variables.ts";
import { WORK_POOL_TYPES } from "../../worker/infrastructures.ts";
import { loadSettings, schedulerSettings } from "../../config/settings.ts";
import { cancelActiveRuns } from "../../engine/flow-runner.ts";
import { KyselyStore } from "../../store/kysely-store.ts";
import { Worker } from "../../worker/worker.ts";
import type { OrchestrationStore, RunStore, SchedulerStore } from "../../store/types.ts";
import { runEnvironment } from "../../worker/run-env.ts";
import { openOrchestration, valuesFor, withOpened } from "../cli-store.ts";
import { workerStatus } from "../../services/worker-status.ts";
import { upsertWorkPool } from "../../services/work-pools.ts";
import { positiveInt } from "../option-values.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";
import { InlineInfrastructure, runClaimedFlowRun } from "../run-claimed.ts";
import { getRuntime, shutdown } from "../../sdk/runtime.ts";
import { parseEnvPairs } from "./deployment.ts";
import { runValueSource } from "../../worker/job-variable-refs.ts";
import { waitAsSpare } from "../spare.ts";
import { SPARE_STALE_EXIT } from "../../worker/infrastructure.ts";
import type { FlowRun } from "../../store/types.ts";
import { contextFromEnv, contextOf } from "../../telemetry/trace-context.ts";
import { context } from "@opentelemetry/api";

/** The stores of this process's runtime (the ones its flows use). */
async function runtimeOrchestration(): Promise<{ store: RunStore; orchestration: OrchestrationStore; scheduler: SchedulerStore | null; close(): Promise<void> }> {
  const runtime = await getRuntime();
  return { store: runtime.store, orchestration: runtime.orchestration, scheduler: runtime.scheduler, close: shutdown };
}


interface PoolCreateOptions {
  type: string;
  limit?: string;
  env: string[];
  cwd?: string;
  image?: string;
  volume: string[];
  cpus?: string;
  memory?: string;
  gpus?: string;
  network?: string;
  pull?: string;
  allowEnv: string[];
}

/** The Docker job variables of `work-pool create`'s flags, validated (the error names the variable). */
function dockerJobVariables(opts: PoolCreateOptions) {
  const number = (flag: string, value: string) => {
    const n = Number(value);
    if (!value.trim() || !Number.isFinite(n)) throw new TypeError(`${flag} must be a number, got "${value}"`);
    return n;
  };
  const values = () =>
    compileJobVariables(
      {
        image: opts.image,
        volumes: opts.volume.length ? opts.volume : undefined,
        cpus: opts.cpus === undefined ? undefined : number("--cpus", opts.cpus),
        memory: opts.memory,
        gpus: opts.gpus === undefined || opts.gpus === "all" ? opts.gpus : number("--gpus", opts.gpus),
        network: opts.network,
        pull: opts.pull,
      },
      "jobVariables",
    );
  try {
    return values();
  } catch (error) {
    // The message names the flag the user typed: --volume for jobVariables.volumes[0].
    throw new TypeError((error as Error).message.replace(/^jobVariables\.(\w+)(\[\d+\])?/, (_, key: string) => `--${key === "volumes" ? "volume" : key}`));
  }
}

export function registerWorker(program: Command): void {
  const workers = program.command("worker").description("workers run the flow runs of a work pool");
  workers
    .command("ls")
    .description("list workers: their pool, last heartbeat and whether they are online (heard from within three heartbeats)")
    .option("--pool <pool>", "only the workers of this pool")
    .option("--all", "offline workers too")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { pool?: string; all?: boolean; json?: boolean; limit: string }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const now = Date.now();
        const all = (await orchestration.listWorkers(opts.pool)).map((w) => ({ ...w, ...workerStatus(w, now) }));
        const { items: shown, note } = limited(opts.all ? all : all.filter((w) => w.status === "online"), opts.limit);
        if (opts.json) return printJson(shown);
        if (!shown.length) return console.log(all.length ? `No worker online (${all.length} offline: --all lists them).` : "No workers yet. Start one with: baton worker start --pool POOL");
        console.log(
          table(
            ["name", "pool", "status", "last heartbeat", "run limit", "id"],
            shown.map((w) => [w.name, w.poolName, w.status, `${time(w.heartbeatAt)} (${Math.round(w.ageMs / 1000)} s ago)`, w.runLimit == null ? "-" : String(w.runLimit), w.id]),
          ),
        );
        note("workers");
        const offline = all.filter((w) => w.status === "offline").length;
        if (!opts.all && offline) process.stderr.write(`(${offline} offline worker(s) not shown: --all)\n`);
      });
    });
  workers
    .command("start")
    .description("start a worker that claims and runs the due flow runs of a work pool")
    .requiredOption("--pool <name>", "the work pool")
    .option("--limit <n>", "most flow runs at once", "4")
    .option("--name <name>", "the worker's name (default host-pid)")
    .option("--poll-ms <ms>", "poll interval when no notification arrives", "1000")
    .option("--cancel-grace-ms <ms>", "time a cancelled run gets between SIGTERM and SIGKILL", "10000")
    .option("--shutdown-grace-ms <ms>", "on SIGTERM/SIGINT: time running runs get to finish before they are stopped and marked Crashed (retried by their deployments)", "10000")
    .option("--heartbeat-ms <ms>", "how often the worker heartbeats and looks for crashed runs", "10000")
    .option("--scheduler-ms <ms>", "on the database (no BATON_API_URL): how often it runs the scheduler", "5000")
    .option("--metrics-port <port>", "serve this worker's Prometheus metrics at http://HOST:PORT/metrics (0: any free port)")
    .option("--metrics-host <host>", "the address the metrics listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    .action(async (opts: { pool: string; limit: string; name?: string; pollMs: string; cancelGraceMs: string; shutdownGraceMs: string; heartbeatMs: string; schedulerMs: string; metricsPort?: string; metricsHost?: string }) => {
      // Checked before anything opens: a typo in an address fails at once, naming the option.
      // prom-client is loaded only for a worker that serves metrics (its import takes ~0.2 s).
      const metricsModule = opts.metricsPort !== undefined || opts.metricsHost !== undefined ? await import("../../worker/metrics.ts") : null;
      const metricsAddress = metricsModule ? metricsModule.compileMetricsAddress(opts.metricsPort, opts.metricsHost) : null;
      const settings = loadSettings();
      // Runs executed inside the worker (a test hook) share the worker's store: two SQLite
      // connections in one process would wait on each other's write lock with the event loop
      // blocked.
      const inline = process.env.BATON_TEST_INLINE_RUNS === "1";
      const { store, orchestration, scheduler, close } = inline ? await runtimeOrchestration() : await openOrchestration();
      const runEnv = runEnvironment(
        settings.apiUrl.value
          ? { apiUrl: settings.apiUrl.value, apiKey: settings.apiKey.value, caFile: settings.caFile.value }
          : { databaseUrl: settings.databaseUrl.value, home: settings.home.value, resultsDir: settings.resultsDir.value },
      );
      const metrics = metricsModule && metricsAddress ? new metricsModule.WorkerMetrics() : undefined;
      const worker = new Worker(store, orchestration, {
        metrics,
        pool: opts.pool,
        name: opts.name,
        limit: positiveInt("--limit", opts.limit),
        pollMs: positiveInt("--poll-ms", opts.pollMs),
        // Behind a server: each claim waits there for a due run (long-poll) instead of polling.
        claimWaitMs: settings.apiUrl.value ? 10_000 : 0,
        cancelGraceMs: positiveInt("--cancel-grace-ms", opts.cancelGraceMs),
        shutdownGraceMs: positiveInt("--shutdown-grace-ms", opts.shutdownGraceMs),
        heartbeatMs: positiveInt("--heartbeat-ms", opts.heartbeatMs),
        runEnv,
        values: runValueSource(store, !settings.apiUrl.value),
        infrastructure: inline ? new InlineInfrastructure() : undefined,
        // On the database: woken when a run of the pool is scheduled or ends (PostgreSQL: by any
        // process, LISTEN/NOTIFY; SQLite: by this one, e.g. its scheduler) instead of a poll.
        subscribe: store instanceof KyselyStore ? (wake) => store.subscribeRunsDue((pool) => pool === opts.pool && wake()) : undefined,
        // Without a server in between, schedules fire only if workers run the scheduler.
        scheduler: scheduler ? { store: scheduler, everyMs: positiveInt("--scheduler-ms", opts.schedulerMs), ...schedulerSettings(settings) } : undefined,
      });
      let served: { url: string; close(): Promise<void> } | undefined;
      if (metricsModule && metrics && metricsAddress) {
        try {
          served = await metricsModule.serveWorkerMetrics(metrics, metricsAddress);
        } catch (error) {
          await close();
          throw error;
        }
        process.stdout.write(`Worker metrics at ${served.url}\n`);
      }
      // First signal: no new runs, the running ones get the grace period; a second: stop them now.
      const stop = () => {
        process.stdout.write("Worker stopping: no new runs\n");
        worker.shutdown();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      try {
        await worker.run();
      } finally {
        await served?.close();
        await close();
      }
    });

  const pools = program.command("work-pool").description("work pools and their queues");
  withPriceOptions(pools.command("create <name>"), { gpus: false })
    .description("create (or update) a work pool")
    .option("--type <type>", `infrastructure: ${WORK_POOL_TYPES.join(" or ")}`, "process")
    .option("--limit <n>", "most flow runs of the pool at once")
    .option("--env <NAME=value>", "an environment variable of its runs' processes (repeatable; replaces the pool's job variables)", (v: string, p: string[]) => [...p, v], [] as string[])
    .option("--cwd <dir>", "working directory of its runs' processes (relative: to the worker's)")
    .option("--image <image>", "docker: the image of its runs' containers")
    .option("--volume <HOST:CONTAINER[:ro]>", "docker: a bind mount of its runs' containers (repeatable)", (v: string, p: string[]) => [...p, v], [] as string[])
    .option("--cpus <n>", "docker: CPUs each run's container may use")
    .option("--memory <size>", "docker: memory limit of each run's container (512m, 2g)")
    .option("--gpus <all|n>", "GPUs each run holds: priced with --cost-per-gpu-hour (a number), and given to its container on a docker pool")
    .option("--network <name>", "docker: network of its runs' containers (default host)")
    .option("--pull <policy>", "docker: when to pull the image: never, missing (default), always")
    .option(
      "--allow-env <NAME>",
      "an environment variable that changes how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…) which its runs may set anyway: a name or PREFIX_* (repeatable; replaces the pool's list)",
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .action(async (name: string, opts: PoolCreateOptions & PriceOptions) => {
      if (!(WORK_POOL_TYPES as readonly string[]).includes(opts.type)) throw new BatonError(`--type must be one of ${WORK_POOL_TYPES.join(", ")} (kubernetes is not supported yet), got "${opts.type}"`);
      let allowEnv: string[] | undefined;
      let docker;
      try {
        allowEnv = opts.allowEnv.length ? compileAllowEnv(opts.allowEnv, "--allow-env") : undefined;
        // On a process pool --gpus is only the count its prices use.
        docker = opts.type === "docker" ? dockerJobVariables(opts) : {};
      } catch (error) {
        throw new BatonError((error as Error).message);
      }
      if (opts.type === "docker" && !docker.image) throw new BatonError(`a docker work pool needs --image IMAGE: the image its runs' containers start from`);
      const { store, orchestration, close } = await openOrchestration();
      try {
        const allowed = { name, allowEnv: allowEnv ?? (await orchestration.getWorkPool(name))?.allowEnv ?? [] };
        const set = { ...(opts.env.length ? { env: parseEnvPairs(opts.env, allowed) } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}), ...docker };
        const jobVariables = Object.keys(set).length ? set : undefined;
        const input = { name, type: opts.type, concurrencyLimit: opts.limit ? positiveInt("--limit", opts.limit) : undefined, jobVariables, allowEnv, ...pricesFromOptions({ ...opts, gpus: opts.gpus === "all" ? undefined : opts.gpus }) };
        const pool = await upsertWorkPool({ pools: orchestration, refs: valuesFor(store).refs }, input, { jobVariablesField: "--env", priceField: priceFlag });
        const allows = pool.allowEnv.length ? `; its runs may set ${pool.allowEnv.join(", ")}` : "";
        const prices = describePrices(pool);
        console.log(`Work pool "${pool.name}" (${pool.type}) with queues: ${pool.queues.map((q) => q.name).join(", ")}${allows}${prices === "-" ? "" : `; prices ${prices}`}`);
      } finally {
        await close();
      }
    });
  pools
    .command("ls")
    .description("list work pools, their queues and workers")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      const { orchestration, close } = await openOrchestration();
      try {
        const [pools, workers] = await Promise.all([orchestration.listWorkPools(), orchestration.listWorkers()]);
        const { items: all, note } = limited(pools, opts.limit);
        if (opts.json) return printJson(all.map((p) => ({ ...p, workers: workers.filter((w) => w.poolName === p.name) })));
        if (!all.length) return console.log("No work pools yet. Create one with: baton work-pool create NAME");
        console.log(
          table(
            ["pool", "type", "status", "limit", "queues (priority)", "workers seen in 1 min", "prices"],
            all.map((p) => [
              p.name,
              p.type,
              p.paused ? "paused" : "ready",
              p.concurrencyLimit == null ? "-" : String(p.concurrencyLimit),
              p.queues.map((q) => `${q.name} (${q.priority}${q.paused ? ", paused" : ""})`).join(", "),
              String(workers.filter((w) => w.poolName === p.name && Date.now() - w.heartbeatAt < 60_000).length),
              describePrices(p),
            ]),
          ),
        );
        note("work pools");
      } finally {
        await close();
      }
    });
  withPriceOptions(pools.command("update <name>"))
    .description("change a work pool's limit or prices")
    .option("--limit <n>", "most flow runs of the pool at once (none: no limit)")
    .action(async (name: string, opts: { limit?: string } & PriceOptions) => {
      const { store, orchestration, close } = await openOrchestration();
      try {
        if (!(await orchestration.getWorkPool(name))) throw new BatonError(`work pool "${name}" does not exist; create it with: baton work-pool create ${name}`);
        const concurrencyLimit = opts.limit === undefined ? undefined : opts.limit === "none" ? null : positiveInt("--limit", opts.limit);
        const pool = await upsertWorkPool({ pools: orchestration, refs: valuesFor(store).refs }, { name, concurrencyLimit, ...pricesFromOptions(opts) }, { priceField: priceFlag });
        console.log(`Work pool "${pool.name}": limit ${pool.concurrencyLimit ?? "none"}, prices ${describePrices(pool)}`);
      } finally {
        await close();
      }
    });
  for (const [command, paused] of [["pause", true], ["resume", false]] as const)
    pools
      .command(`${command} <name>`)
      .description(`${command} a work pool (a paused pool hands out no runs)`)
      .action(async (name: string) => {
        const { orchestration, close } = await openOrchestration();
        try {
          if (!(await orchestration.getWorkPool(name))) throw new BatonError(`work pool "${name}" does not exist`);
          await orchestration.upsertWorkPool({ name, paused });
          console.log(`Work pool "${name}" ${paused ? "paused" : "resumed"}`);
        } finally {
          await close();
        }
      });
  pools
    .command("delete <name>")
    .description("delete a work pool and its queues")
    .action(async (name: string) => {
      const { orchestration, close } = await openOrchestration();
      try {
        if (!(await orchestration.deleteWorkPool(name))) throw new BatonError(`work pool "${name}" does not exist`);
        console.log(`Deleted work pool "${name}"`);
      } finally {
        await close();
      }
    });

  program
    .command("execute-flow-run <id>", { hidden: true })
    .description("run a claimed flow run in this process (what a worker starts)")
    .action(async (idArgument: string) => {
      let id = idArgument;
      let claimed: FlowRun | undefined;
      // The trace this run continues: its worker's claim (TRACEPARENT, or the line a spare is handed).
      let traced = contextFromEnv();
      if (process.env.BATON_WORKER_LIFELINE === "stdin") {
        // The worker holds our stdin open: when it closes, the worker is gone and so are we.
        process.stdin.on("end", () => process.exit(137));
        if (id === "-") {
          // A warm spare: it prepares a run's start, then waits for a run id.
          const handed = await waitAsSpare();
          id = handed.id;
          claimed = handed.run;
          if (handed.trace) traced = contextOf(handed.trace);
          // It loaded a flow file that has changed since: the worker starts a fresh process for the run.
          if (handed.stale) process.exit(SPARE_STALE_EXIT);
          process.env.BATON_FLOW_RUN_ID = id;
        }
        process.stdin.resume();
      }
      process.once("SIGTERM", () => cancelActiveRuns(`flow run ${id} was cancelled (SIGTERM from its worker)`));
      try {
        // Started by a worker: run it only if it is still the Pending run that worker claimed.
        const outcome = await context.with(traced, () => runClaimedFlowRun(id, process.env.BATON_WORKER_ID, claimed));
        await shutdown();
        console.log(`Flow run ${outcome.name} (${outcome.id}) ended ${outcome.state.name}${outcome.error ? `: ${outcome.error.message}` : ""}`);
        // A run suspended for input (Paused) ended this process as it should.
        process.exitCode = outcome.state.type === "COMPLETED" || outcome.state.type === "PAUSED" ? 0 : 1;
      } finally {
        // The lifeline keeps the process alive: let go of it on every path (a flow file that
        // cannot be loaded included), or the worker would wait for this process forever.
        await shutdown().catch(() => undefined);
        process.stdin.pause();
      }
    });
}
