/** `baton task-run ls|inspect|logs`: the task runs of a flow run, named by id, or by task key or id prefix with `--flow-run`. */
import type { Command } from "commander";
import { resolveFlowRun, resolveTaskRun } from "../../services/run-references.ts";
import type { LogRecord } from "../../store/types.ts";
import { withStore } from "../cli-store.ts";
import { duration, logLine, minLogLevel, printJson, resourcesLabel, stateLabel, table, time } from "../format.ts";
import { limitOption, noteTruncated, parseLimit, parseStateFilter } from "../list-options.ts";
import { readResult, resultSection } from "../result-preview.ts";

/** The most task runs one `ls` prints (a fan-out has 100,000). */
const MAX_LIST = 100_000;

export function registerTaskRun(program: Command): void {
  const cmd = program.command("task-run").description("task runs of a flow run: list, inspect, logs");

  limitOption(
    cmd
      .command("ls")
      .description("list the task runs of a flow run, in the order they were created")
      .requiredOption("--flow-run <run>", "the flow run: its id, an id prefix or its name")
      .option("--state <states>", "state types or names, comma-separated, any case (e.g. failed)")
      .option("--task <name>", "only runs of this task (its name, e.g. fit)"),
    50,
    MAX_LIST,
  )
    .option("--json", "print JSON")
    .action(async (opts: { flowRun: string; state?: string; task?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(opts.limit, MAX_LIST);
      const states = opts.state === undefined ? null : new Set<string>(parseStateFilter(opts.state));
      await withStore(async (store) => {
        const run = await resolveFlowRun(store, opts.flowRun);
        const matching = (await store.listTaskRuns(run.id)).filter((t) => (!states || states.has(t.state.name)) && (opts.task === undefined || t.taskName === opts.task));
        const shown = matching.slice(0, limit);
        if (opts.json) return printJson(shown);
        if (!shown.length) return console.log(`No task runs${states || opts.task ? " match" : ""} in flow run ${run.name} (${run.id}).`);
        console.log(
          table(
            ["id", "key", "state", "attempts", "started", "duration"],
            shown.map((t) => [t.id, t.taskKey, stateLabel(t.state), String(t.runCount), time(t.startTime), duration(t.startTime, t.endTime)]),
          ),
        );
        if (matching.length > shown.length) noteTruncated(shown.length, matching.length, "task runs", MAX_LIST);
      });
    });

  cmd
    .command("inspect <task-run>")
    .description("a task run's details, state history, error and result")
    .option("--flow-run <run>", "its flow run, to name the task run by task key (fit-3) or id prefix")
    .option("--json", "print JSON")
    .action(async (ref: string, opts: { flowRun?: string; json?: boolean }) => {
      await withStore(async (store) => {
        const t = await resolveTaskRun(store, ref, opts.flowRun);
        const [history, run] = await Promise.all([store.stateHistory(t.id), store.getFlowRun(t.flowRunId)]);
        const result = t.resultId ? await readResult(store, t.resultId) : null;
        if (opts.json) return printJson({ ...t, history, result: result && "value" in result ? result.value : null });
        console.log(`Task run ${t.taskKey} (${t.id})`);
        console.log(`  flow run    ${run ? `${run.name} (${run.id})` : t.flowRunId}`);
        console.log(`  task        ${t.taskName}${t.tags.length ? `   tags ${t.tags.join(", ")}` : ""}`);
        console.log(`  state       ${stateLabel(t.state)}${t.state.message ? ` - ${t.state.message}` : ""}`);
        console.log(`  started     ${time(t.startTime)}   duration ${duration(t.startTime, t.endTime)}   attempts ${t.runCount}`);
        console.log(`  resources   ${resourcesLabel(t.resources)}`);
        if (t.cacheKey) console.log(`  cache key   ${t.cacheKey}`);
        if (t.error) console.log(`  error       ${(t.error.stack ?? t.error.message).split("\n").join("\n              ")}`);
        console.log(`\nState history`);
        console.log(table(["time", "state", "message"], history.map((s) => [time(s.timestamp), stateLabel(s), s.message ?? ""])));
        if (result) console.log(resultSection(result, `baton task-run inspect ${t.id} --json`));
      });
    });

  cmd
    .command("logs <task-run>")
    .description("a task run's logs")
    .option("--flow-run <run>", "its flow run, to name the task run by task key (fit-3) or id prefix")
    .option("--level <level>", "minimum level: debug, info, warn, error", "debug")
    .option("--json", "print JSON")
    .action(async (ref: string, opts: { flowRun?: string; level: string; json?: boolean }) => {
      const minLevel = minLogLevel(opts.level);
      await withStore(async (store) => {
        const t = await resolveTaskRun(store, ref, opts.flowRun);
        const logs: LogRecord[] = [];
        for (let afterId = 0; ; ) {
          const page = await store.listLogs({ flowRunId: t.flowRunId, taskRunId: t.id, minLevel, afterId, limit: 1000 });
          logs.push(...page);
          if (page.length < 1000) break;
          afterId = page[page.length - 1]!.id!;
        }
        if (opts.json) return printJson(logs);
        if (!logs.length) return console.log(`No logs from task run ${t.taskKey} (${t.id}) at ${opts.level} or above.`);
        const keys = new Map([[t.id, t.taskKey]]);
        for (const log of logs) console.log(logLine(log, keys));
      });
    });
}
