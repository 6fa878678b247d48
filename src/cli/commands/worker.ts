/** `baton worker start|ls`, `baton work-pool ...` and the hidden `execute-flow-run`. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { compileAllowEnv } from "../../core/job-variables.ts";
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

/** The stores of this process's runtime (the ones its flows use). */
async function runtimeOrchestration(): Promise<{ store: RunStore; orchestration: OrchestrationStore; scheduler: SchedulerStore | null; close(): Promise<void> }> {
  const runtime = await getRuntime();
  return { store: runtime.store, orchestration: runtime.orchestration, scheduler: runtime.scheduler, close: shutdown };
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
    .action(async (opts: { pool: string; limit: string; name?: string; pollMs: string; cancelGraceMs: string; shutdownGraceMs: string; heartbeatMs: string; schedulerMs: string }) => {
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
      const worker = new Worker(store, orchestration, {
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
        await close();
      }
    });

  const pools = program.command("work-pool").description("work pools and their queues");
  pools
    .command("create <name>")
    .description("create (or update) a work pool")
    .option("--type <type>", "infrastructure: process", "process")
    .option("--limit <n>", "most flow runs of the pool at once")
    .option("--env <NAME=value>", "an environment variable of its runs' processes (repeatable; replaces the pool's job variables)", (v: string, p: string[]) => [...p, v], [] as string[])
    .option("--cwd <dir>", "working directory of its runs' processes (relative: to the worker's)")
    .option(
      "--allow-env <NAME>",
      "an environment variable that changes how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…) which its runs may set anyway: a name or PREFIX_* (repeatable; replaces the pool's list)",
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .action(async (name: string, opts: { type: string; limit?: string; env: string[]; cwd?: string; allowEnv: string[] }) => {
      if (opts.type !== "process") throw new BatonError(`--type must be "process" (docker and kubernetes are not supported yet), got "${opts.type}"`);
      let allowEnv: string[] | undefined;
      try {
        allowEnv = opts.allowEnv.length ? compileAllowEnv(opts.allowEnv, "--allow-env") : undefined;
      } catch (error) {
        throw new BatonError((error as Error).message);
      }
      const { store, orchestration, close } = await openOrchestration();
      try {
        const allowed = { name, allowEnv: allowEnv ?? (await orchestration.getWorkPool(name))?.allowEnv ?? [] };
        const jobVariables = opts.env.length || opts.cwd ? { ...(opts.env.length ? { env: parseEnvPairs(opts.env, allowed) } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) } : undefined;
        const input = { name, type: opts.type, concurrencyLimit: opts.limit ? positiveInt("--limit", opts.limit) : undefined, jobVariables, allowEnv };
        const pool = await upsertWorkPool({ pools: orchestration, refs: valuesFor(store).refs }, input, { jobVariablesField: "--env" });
        const allows = pool.allowEnv.length ? `; its runs may set ${pool.allowEnv.join(", ")}` : "";
        console.log(`Work pool "${pool.name}" (${pool.type}) with queues: ${pool.queues.map((q) => q.name).join(", ")}${allows}`);
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
            ["pool", "type", "status", "limit", "queues (priority)", "workers seen in 1 min"],
            all.map((p) => [
              p.name,
              p.type,
              p.paused ? "paused" : "ready",
              p.concurrencyLimit == null ? "-" : String(p.concurrencyLimit),
              p.queues.map((q) => `${q.name} (${q.priority}${q.paused ? ", paused" : ""})`).join(", "),
              String(workers.filter((w) => w.poolName === p.name && Date.now() - w.heartbeatAt < 60_000).length),
            ]),
          ),
        );
        note("work pools");
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
      if (process.env.BATON_WORKER_LIFELINE === "stdin") {
        // The worker holds our stdin open: when it closes, the worker is gone and so are we.
        process.stdin.on("end", () => process.exit(137));
        if (id === "-") {
          // A warm spare: it prepares a run's start, then waits for a run id.
          const handed = await waitAsSpare();
          id = handed.id;
          // It loaded a flow file that has changed since: the worker starts a fresh process for the run.
          if (handed.stale) process.exit(SPARE_STALE_EXIT);
          process.env.BATON_FLOW_RUN_ID = id;
        }
        process.stdin.resume();
      }
      process.once("SIGTERM", () => cancelActiveRuns(`flow run ${id} was cancelled (SIGTERM from its worker)`));
      try {
        // Started by a worker: run it only if it is still the Pending run that worker claimed.
        const outcome = await runClaimedFlowRun(id, process.env.BATON_WORKER_ID);
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
