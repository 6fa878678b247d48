/** `baton flow-run ...`: list, inspect, logs, watch, cancel, retry (durable resume), delete. */
import type { Command } from "commander";
import { isTerminal, STATE_NAMES, type StateName } from "../../core/states.ts";
import { RunNotFoundError, BatonError } from "../../core/errors.ts";
import { followEvents } from "../../client/event-stream.ts";
import { cancelFlowRun } from "../../engine/run-operations.ts";
import type { Store } from "../../store/types.ts";
import { withStore } from "../cli-store.ts";
import { duration, FLOW_RUN_HEAD, flowRunRows, logLine, printJson, stateLabel, summariseTaskRuns, table, time } from "../format.ts";
import { loadFlow } from "../load-flow.ts";
import { shutdown } from "../../sdk/runtime.ts";

async function getRun(store: Store, id: string) {
  const run = await store.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  return run;
}

export function registerFlowRun(program: Command): void {
  const cmd = program.command("flow-run").description("inspect and operate flow runs");

  cmd
    .command("ls")
    .description("list flow runs, newest first")
    .option("--state <names>", "state names, comma-separated (e.g. Failed,Crashed)")
    .option("--flow <name>", "only runs of this flow")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action(async (opts: { state?: string; flow?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BatonError(`--limit must be an integer from 1 to 500, got "${opts.limit}"`);
      const stateNames = opts.state?.split(",").map((s) => s.trim());
      for (const name of stateNames ?? [])
        if (!STATE_NAMES.includes(name as StateName)) throw new BatonError(`--state: unknown state "${name}"; expected ${STATE_NAMES.join(", ")}`);
      await withStore(async (store) => {
        const runs = await store.listFlowRuns({ flowName: opts.flow, stateNames: stateNames as StateName[] | undefined, limit });
        if (opts.json) printJson(runs);
        else if (runs.length === 0) console.log("No flow runs yet. Run one with: baton run path/to/flow.ts");
        else console.log(table(FLOW_RUN_HEAD, flowRunRows(runs)));
      });
    });

  cmd
    .command("inspect <id>")
    .description("a flow run's details, state history and task runs")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const run = await getRun(store, id);
        const [history, taskRuns] = await Promise.all([store.stateHistory(id), store.listTaskRuns(id)]);
        if (opts.json) return printJson({ ...run, history, taskRuns });
        console.log(`Flow run ${run.name} (${run.id})`);
        console.log(`  flow        ${run.flowName}${run.entrypoint ? `  [${run.entrypoint}]` : ""}`);
        console.log(`  state       ${stateLabel(run.state)}${run.state.message ? ` - ${run.state.message}` : ""}`);
        console.log(`  started     ${time(run.startTime)}   duration ${duration(run.startTime, run.endTime)}   runs ${run.runCount}`);
        console.log(`  parameters  ${JSON.stringify(run.parameters)}`);
        if (run.parentFlowRunId) console.log(`  parent      ${run.parentFlowRunId}`);
        if (run.error?.stack) console.log(`  error       ${run.error.stack.split("\n").join("\n              ")}`);
        console.log(`\nState history`);
        console.log(table(["time", "state", "message"], history.map((s) => [time(s.timestamp), stateLabel(s), s.message ?? ""])));
        console.log(`\nTask runs: ${summariseTaskRuns(taskRuns)}`);
        if (taskRuns.length)
          console.log(
            table(
              ["key", "state", "attempts", "duration", "message"],
              taskRuns.slice(0, 200).map((t) => [t.taskKey, stateLabel(t.state), String(t.runCount), duration(t.startTime, t.endTime), (t.state.message ?? "").slice(0, 80)]),
            ),
          );
      });
    });

  cmd
    .command("logs <id>")
    .description("a flow run's logs")
    .option("--follow", "keep printing new lines until the run ends")
    .option("--level <level>", "minimum level: debug, info, warn, error", "debug")
    .action(async (id: string, opts: { follow?: boolean; level: string }) => {
      const levels: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, warning: 40, error: 50 };
      const minLevel = levels[opts.level];
      if (minLevel === undefined) throw new BatonError(`--level must be one of ${Object.keys(levels).join(", ")}`);
      await withStore(async (store) => {
        const run = await getRun(store, id);
        const names = new Map((await store.listTaskRuns(id)).map((t) => [t.id, t.taskKey]));
        let afterId = 0;
        for (;;) {
          const page = await store.listLogs({ flowRunId: id, minLevel, afterId, limit: 1000 });
          for (const log of page) console.log(logLine(log, names));
          if (page.length < 1000) break;
          afterId = page[page.length - 1]!.id!;
        }
        if (!opts.follow || isTerminal(run.state.type)) return;
        await followEvents(store, id, (event) => {
          if (event.kind === "log" && event.level >= minLevel) console.log(logLine(event, names));
          if (event.kind === "state" && event.taskRunId === null && isTerminal(event.type)) return false;
        });
      });
    });

  cmd
    .command("watch <id>")
    .description("follow a flow run's task states and logs live until it ends")
    .action(async (id: string) => {
      await withStore(async (store) => {
        const run = await getRun(store, id);
        const names = new Map((await store.listTaskRuns(id)).map((t) => [t.id, t.taskKey]));
        console.log(`Watching ${run.name} (${run.id}): ${stateLabel(run.state)}`);
        let final = run.state;
        if (!isTerminal(run.state.type))
          await followEvents(store, id, (event) => {
            if (event.kind === "log") return void console.log(logLine(event, names));
            const who = event.taskRunId ? `task ${names.get(event.taskRunId) ?? event.taskRunId.slice(0, 8)}` : "flow run";
            console.log(`${time(event.timestamp)} | ${who} -> ${stateLabel(event)}${event.message ? ` (${event.message})` : ""}`);
            if (event.taskRunId === null && isTerminal(event.type)) {
              final = event;
              return false;
            }
            if (event.taskRunId && !names.has(event.taskRunId)) void store.getTaskRun(event.taskRunId).then((t) => t && names.set(t.id, t.taskKey));
          });
        console.log(`Flow run ended ${stateLabel(final)}`);
        if (final.type !== "COMPLETED") process.exitCode = 1;
      });
    });

  cmd
    .command("cancel <id>")
    .description("cancel a flow run (a running one stops at its next heartbeat)")
    .action(async (id: string) => {
      await withStore(async (store) => {
        const run = await cancelFlowRun(store, id, "cancelled from the CLI");
        console.log(`Flow run ${run.name} (${run.id}) is ${stateLabel(run.state)}`);
      });
    });

  cmd
    .command("retry <id>")
    .description("resume a Failed, Crashed or Cancelled flow run here: finished tasks are reused, the rest run again")
    .option("--file <path>", "the flow's module, when the run did not record its entrypoint")
    .action(async (id: string, opts: { file?: string }) => {
      const run = await withStore((store) => getRun(store, id));
      const entry = run.entrypoint;
      const file = opts.file ?? (entry ? entry.slice(0, entry.lastIndexOf(":")) : null);
      if (!file) throw new BatonError(`flow run ${id} did not record where its flow is defined; pass --file path/to/flow.ts`);
      const target = await loadFlow(file, run.flowName);
      const outcome = await target.resume(id);
      await shutdown();
      console.log(`Flow run ${outcome.name} (${outcome.id}) ended ${stateLabel(outcome.state)}${outcome.error ? `: ${outcome.error.message}` : ""}`);
      if (outcome.state.type !== "COMPLETED") process.exitCode = 1;
    });

  cmd
    .command("delete <id>")
    .description("delete a flow run with its task runs, states and logs")
    .action(async (id: string) => {
      await withStore(async (store) => {
        if (!(await store.deleteFlowRun(id))) throw new RunNotFoundError("flow run", id);
        console.log(`Deleted flow run ${id}`);
      });
    });
}
