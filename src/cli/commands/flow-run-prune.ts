/** `baton flow-run prune --older-than 30d [--dry-run]`: run retention on demand, on the database or through the server (an admin key). */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { KyselyStore } from "../../store/kysely-store.ts";
import { KyselyRunRetention } from "../../store/run-retention.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { RemoteFlowRunPruner } from "../../client/remote-run-retention.ts";
import { localFlowRunPruner, olderThanCutoff, type FlowRunPruner } from "../../services/prune-flow-runs.ts";
import { withStore, type CliStore } from "../cli-store.ts";
import { printJson } from "../format.ts";

function prunerFor(store: CliStore): FlowRunPruner {
  return store instanceof KyselyStore ? localFlowRunPruner(new KyselyRunRetention(store)) : new RemoteFlowRunPruner((store as RemoteStore).api);
}

export function registerFlowRunPrune(cmd: Command): void {
  cmd
    .command("prune")
    .description("delete flow runs in a final state (Completed, Failed, Cancelled, Crashed) that ended longer ago than --older-than, with their task runs, states, logs and artifacts; child runs stay")
    .requiredOption("--older-than <duration>", "how long ago a run must have ended, e.g. 30d, 12h")
    .option("--dry-run", "only count what would be deleted")
    .option("--json", "print { endedBefore, dryRun, flowRuns, taskRuns } as JSON")
    .action(async (opts: { olderThan: string; dryRun?: boolean; json?: boolean }) => {
      let endedBefore: number;
      try {
        endedBefore = olderThanCutoff(opts.olderThan, Date.now());
      } catch (error) {
        throw new BatonError((error as Error).message);
      }
      const dryRun = opts.dryRun ?? false;
      await withStore(async (store) => {
        const pruner = prunerFor(store);
        const total = { flowRuns: 0, taskRuns: 0 };
        // Bounded calls (each its own series of short transactions) until nothing is left.
        for (;;) {
          const answer = await pruner.prune({ endedBefore, dryRun });
          total.flowRuns += answer.flowRuns;
          total.taskRuns += answer.taskRuns;
          if (!answer.more) break;
          if (!opts.json) console.error(`deleted ${total.flowRuns} flow runs so far…`);
        }
        const when = new Date(endedBefore).toISOString();
        if (opts.json) printJson({ endedBefore, dryRun, ...total });
        else if (dryRun) console.log(`Would delete ${total.flowRuns} flow run(s) and ${total.taskRuns} task run(s) that ended before ${when}`);
        else console.log(`Deleted ${total.flowRuns} flow run(s) and ${total.taskRuns} task run(s) that ended before ${when}`);
      });
    });
}
