/** `baton work-queue create|ls|inspect|pause|resume`: the queues of work pools (runs of a deployment wait in its queue). */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { findWorkQueue, setWorkQueuePaused } from "../../services/work-queues.ts";
import { openOrchestration, withOpened } from "../cli-store.ts";
import { positiveInt } from "../option-values.ts";
import { printJson, table } from "../format.ts";
import { limited } from "../list-options.ts";


export function registerWorkQueue(program: Command): void {
  const cmd = program.command("work-queue").description("queues of a work pool");
  cmd
    .command("create <name>")
    .description("create (or update) a queue of a work pool")
    .requiredOption("--pool <pool>", "the work pool")
    .option("--priority <n>", "1 is served first", "1")
    .option("--limit <n>", "most flow runs of the queue at once")
    .action(async (name: string, opts: { pool: string; priority: string; limit?: string }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        if (!(await orchestration.getWorkPool(opts.pool))) throw new BatonError(`work pool "${opts.pool}" does not exist`);
        const queue = await orchestration.upsertWorkQueue({ poolName: opts.pool, name, priority: positiveInt("--priority", opts.priority), concurrencyLimit: opts.limit ? positiveInt("--limit", opts.limit) : null });
        console.log(`Queue "${queue.name}" of pool "${queue.poolName}": priority ${queue.priority}, limit ${queue.concurrencyLimit ?? "none"}`);
      });
    });
  cmd
    .command("ls")
    .description("list work queues, by pool and priority")
    .option("--pool <pool>", "only the queues of this pool")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { pool?: string; json?: boolean; limit: string }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const pools = (await orchestration.listWorkPools()).filter((p) => opts.pool === undefined || p.name === opts.pool);
        if (opts.pool !== undefined && !pools.length) throw new BatonError(`work pool "${opts.pool}" does not exist; see baton work-pool ls`);
        const { items: queues, note } = limited(
          pools.flatMap((p) => p.queues.map((q) => ({ ...q, poolPaused: p.paused }))),
          opts.limit,
        );
        if (opts.json) return printJson(queues.map(({ poolPaused: _, ...q }) => q));
        if (!queues.length) return console.log("No work queues yet. A work pool gets a default queue: baton work-pool create NAME");
        console.log(
          table(
            ["pool", "queue", "priority", "limit", "status"],
            queues.map((q) => [q.poolName, q.name, String(q.priority), q.concurrencyLimit == null ? "-" : String(q.concurrencyLimit), q.paused ? "paused" : q.poolPaused ? "pool paused" : "ready"]),
          ),
        );
        note("work queues");
      });
    });
  cmd
    .command("inspect <name>")
    .description("a work queue: its pool, priority, limit, and the deployments that send runs to it")
    .option("--pool <pool>", "its pool (needed when several pools have a queue of this name)")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { pool?: string; json?: boolean }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const { pool, queue } = await findWorkQueue(orchestration, name, opts.pool);
        const deployments = (await orchestration.listDeployments()).filter((d) => d.workPool === pool.name && d.workQueue === queue.name);
        if (opts.json) return printJson({ ...queue, deployments: deployments.map((d) => d.name) });
        console.log(`Work queue ${queue.name} of pool ${pool.name}${pool.paused ? " (pool paused)" : ""}`);
        console.log(`  status       ${queue.paused ? "paused" : "ready"}`);
        console.log(`  priority     ${queue.priority} (1 is served first; pool has ${pool.queues.length} queue${pool.queues.length === 1 ? "" : "s"})`);
        console.log(`  limit        ${queue.concurrencyLimit ?? "none"}`);
        console.log(`  deployments  ${deployments.map((d) => d.name).join(", ") || "-"}`);
      });
    });
  for (const [verb, paused] of [["pause", true], ["resume", false]] as const)
    cmd
      .command(`${verb} <name>`)
      .description(paused ? "pause a work queue (its runs wait; the pool's other queues go on)" : "resume a work queue")
      .option("--pool <pool>", "its pool (needed when several pools have a queue of this name)")
      .action(async (name: string, opts: { pool?: string }) => {
        await withOpened(openOrchestration, async ({ orchestration }) => {
          const queue = await setWorkQueuePaused(orchestration, name, opts.pool, paused);
          console.log(`Work queue "${queue.name}" of pool "${queue.poolName}" ${paused ? "paused" : "resumed"}`);
        });
      });
}
