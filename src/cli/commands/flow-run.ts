/** `baton flow-run ...`: list, inspect, logs, watch, cancel, resume (a paused run, with input), retry (durable resume), rerun (a new run on the same parameters and data versions), delete, prune (flow-run-prune.ts). */
import type { Command } from "commander";
import { isTerminal, type State } from "../../core/states.ts";
import { BatonError } from "../../core/errors.ts";
import { splitEntrypoint } from "../../core/entrypoint.ts";
import type { BatonEvent } from "../../client/event-stream.ts";
import { cancelFlowRun } from "../../services/cancel-flow-run.ts";
import { deleteFlowRun } from "../../services/delete-flow-run.ts";
import { openInputRequest } from "../../core/flow-run-inputs.ts";
import type { FlowRun, FlowRunFilter, LogRecord } from "../../store/types.ts";
import { resolveFlowRun } from "../../services/run-references.ts";
import { openOrchestration, valuesFor, withOpened, withStore, type CliStore } from "../cli-store.ts";
import { loadSettings } from "../../config/settings.ts";
import { duration, FLOW_RUN_HEAD, flowRunRows, logLine, minLogLevel, printJson, resourcesCell, resourcesLabel, stateLabel, summariseTaskRuns, table, time } from "../format.ts";
import { collect, limitOption, noteTruncated, parseLimit, parseStateFilter, tagList } from "../list-options.ts";
import { artifactLine, readResult, resultSection } from "../result-preview.ts";
import { loadFlow } from "../load-flow.ts";
import { TaskLabels } from "../task-labels.ts";
import { drawsProgress, finalPicture, LiveBlock, renderProgress, TaskTallies, type ProgressModel } from "../live-view.ts";
import { shutdown } from "../../sdk/runtime.ts";
import { registerFlowRunPrune } from "./flow-run-prune.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import type { Rerun } from "../../services/rerun-flow-run.ts";
import type { KyselyStore } from "../../store/kysely-store.ts";

/** Task runs listed by `inspect` (all of them with --json). */
const INSPECT_TASK_RUNS = 50;

/** How often a follower re-reads the run, in case its final state was not seen as an event. */
const RECHECK_MS = 3_000;

/**
 * Follows a flow run until it ends and returns its final state. Subscribes before reading the
 * run, so a run that ends in between is still seen ending; `start` runs between the two (to
 * print what is stored so far), then `events` gets every live event, in order, in batches (so
 * that it can look up what a batch names at once before printing it).
 *
 * The run has ended when its *stored* state is final: a final state seen as an event only
 * prompts a read, because a deployment's retry (AwaitingRetry) may follow a Crashed or Failed
 * state — it is written in the same commit, so a run read after the event is already back in
 * its pool. The run is also re-read every few seconds: a follower never waits forever for an
 * event it missed.
 */
async function followUntilEnd(store: CliStore, id: string, on: { start(run: FlowRun): Promise<void>; events(batch: BatonEvent[]): Promise<void> }): Promise<State> {
  // The CLI's requests give up after 5 s, but a follower rides out a server restart for the
  // whole client retry window (BATON_API_RETRY_MS).
  // Imported here: only the commands that follow a run load the event stream.
  const { openEventFeed } = await import("../../client/event-stream.ts");
  const feed = await openEventFeed(store, id, { retryWindowMs: loadSettings().apiRetryMs.value });
  try {
    const run = await resolveFlowRun(store, id);
    await on.start(run);
    if (isTerminal(run.state.type)) return run.state;
    let final: State | null = null;
    const stop = new AbortController();

    let checked = Promise.resolve();
    let checkQueued = false;
    /** Reads the run and stops following if it has ended; a check asked for during one runs after it. */
    const check = () => {
      if (checkQueued) return;
      checkQueued = true;
      checked = checked.then(async () => {
        checkQueued = false;
        if (stop.signal.aborted) return;
        const current = await store.getFlowRun(id).catch(() => undefined);
        if (current && isTerminal(current.state.type)) {
          final ??= current.state;
          stop.abort();
        }
      });
    };

    const queue: BatonEvent[] = [];
    let printed = Promise.resolve();
    let printScheduled = false;
    let printFailure: unknown = null;
    /** Hands the queued events to `on.events` in order, those delivered together in one batch. */
    const print = () => {
      if (printScheduled) return;
      printScheduled = true;
      printed = printed
        .then(async () => {
          // Events delivered together (a poll of the store, a burst of the stream) make one batch.
          await new Promise(setImmediate);
          printScheduled = false;
          const batch = queue.splice(0);
          if (batch.length) await on.events(batch);
        })
        .catch((error: unknown) => {
          printFailure ??= error;
          stop.abort();
        });
    };

    const recheck = setInterval(check, RECHECK_MS);
    try {
      await feed.run((event) => {
        queue.push(event);
        print();
        if (event.kind === "state" && event.taskRunId === null && isTerminal(event.type)) check();
      }, stop.signal);
    } finally {
      clearInterval(recheck);
      await Promise.all([printed, checked]);
    }
    if (printFailure) throw printFailure;
    return final ?? (await resolveFlowRun(store, id)).state;
  } finally {
    feed.close();
  }
}

/** `text` on one line, at most `max` characters (an ellipsis says it was cut). */
function excerptLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Follows a flow run's task states and logs until it ends (`flow-run watch`, `deployment run
 * --watch`); exit code 1 unless it completed. On a terminal the task runs are live bars per task
 * name under the log lines (from the run's events: the database's, or the server's stream in
 * remote mode); elsewhere, or with `progress: false`, one line per state change.
 */
export async function watchFlowRun(ref: string, opts: { json?: boolean; progress?: boolean }): Promise<void> {
  await withStore(async (store) => {
    const id = (await resolveFlowRun(store, ref)).id;
    const labels = new TaskLabels(store, id);
    const tallies = new TaskTallies();
    const watchStarted = Date.now();
    let run: FlowRun | null = null;
    let frame = 0;
    const model = (): ProgressModel => ({
      flowName: run?.flowName ?? "",
      tasks: tallies.tasks,
      elapsedMs: Date.now() - (run?.startTime ?? watchStarted),
      link: null,
      frame: frame++,
    });
    const block = !opts.json && drawsProgress(process.stdout, opts.progress) ? new LiveBlock(process.stdout, (width) => renderProgress(model(), width)) : null;
    const say = (line: string) => (block ? block.print(line) : console.log(line));
    let final: State;
    try {
      final = await followUntilEnd(store, id, {
        start: async (current) => {
          run = current;
          for (const t of await labels.loadAll()) tallies.apply(t.id, t.taskName, t.state.type);
          if (opts.json) console.log(JSON.stringify({ kind: "run", ...current }));
          else say(`Watching ${current.name} (${current.id}): ${stateLabel(current.state)}`);
          block?.start();
        },
        events: async (batch) => {
          if (opts.json) return void batch.forEach((event) => console.log(JSON.stringify(event)));
          await labels.learn(batch.map((event) => event.taskRunId));
          for (const event of batch) {
            if (event.kind === "log") say(logLine(event, labels.keys));
            else if (event.taskRunId === null) {
              if (event.type === "RUNNING" && run && run.startTime === null) run = { ...run, startTime: event.timestamp };
              say(`${time(event.timestamp)} | flow run -> ${stateLabel(event)}${event.message ? ` (${event.message})` : ""}`);
            } else if (!block) say(`${time(event.timestamp)} | task ${labels.label(event.taskRunId)} -> ${stateLabel(event)}${event.message ? ` (${event.message})` : ""}`);
            else tallies.apply(event.taskRunId, labels.names.get(event.taskRunId) ?? "(unknown task)", event.type);
          }
        },
      });
    } finally {
      block?.stop(finalPicture(model(), process.stdout.columns || 120));
    }
    if (opts.json) return void console.log(JSON.stringify({ kind: "end", state: final }));
    console.log(`Flow run ended ${stateLabel(final)}`);
    console.log(`Task runs: ${summariseTaskRuns(await store.listTaskRuns(id))}`);
    if (final.type !== "COMPLETED") process.exitCode = 1;
  });
}

export function registerFlowRun(program: Command): void {
  const cmd = program.command("flow-run").description("inspect and operate flow runs");

  limitOption(
    cmd
      .command("ls")
      .description("list flow runs, newest first")
      .option("--state <states>", "state types or names, comma-separated, any case (e.g. failed or Late,crashed)")
      .option("--flow <name>", "only runs of this flow")
      .option("--deployment <name>", "only runs of this deployment")
      .option("--tag <tag>", "only runs with this tag (repeatable, or comma-separated: all of them)", collect, [] as string[]),
    20,
    500,
  )
    .option("--json", "print JSON")
    .action(async (opts: { state?: string; flow?: string; deployment?: string; tag: string[]; limit: string; json?: boolean }) => {
      const limit = parseLimit(opts.limit, 500);
      const filter: FlowRunFilter = { flowName: opts.flow, limit, tags: opts.tag.length ? tagList(opts.tag) : undefined };
      if (opts.state !== undefined) filter.stateNames = parseStateFilter(opts.state);
      await withOpened(openOrchestration, async ({ store, orchestration }) => {
        if (opts.deployment !== undefined) {
          const deployment = await orchestration.getDeployment(opts.deployment);
          if (!deployment) throw new BatonError(`--deployment: deployment "${opts.deployment}" does not exist; see baton deployment ls`);
          filter.deploymentId = deployment.id;
        }
        const page = await store.pageFlowRuns(filter);
        if (opts.json) return printJson(page.items);
        const filtered = opts.state !== undefined || opts.flow !== undefined || opts.deployment !== undefined || opts.tag.length > 0;
        if (page.items.length === 0) return console.log(filtered ? "No flow runs match." : "No flow runs yet. Run one with: baton run path/to/flow.ts");
        console.log(table(FLOW_RUN_HEAD, flowRunRows(page.items)));
        if (page.nextCursor) noteTruncated(page.items.length, null, "flow runs", 500);
      });
    });

  cmd
    .command("inspect <run>")
    .description("a flow run's details, state history, task runs, artifacts and result (RUN: its id, an id prefix or its name)")
    .option("--json", "print JSON")
    .action(async (ref: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const run = await resolveFlowRun(store, ref);
        const id = run.id;
        const [history, taskRuns, artifacts] = await Promise.all([store.stateHistory(id), store.listTaskRuns(id), store.listArtifacts({ flowRunId: id, limit: 200 })]);
        const result = run.resultId ? await readResult(store, run.resultId) : null;
        if (opts.json) return printJson({ ...run, history, taskRuns, artifacts, result: result && "value" in result ? result.value : null });
        console.log(`Flow run ${run.name} (${run.id})`);
        console.log(`  flow        ${run.flowName}${run.entrypoint ? `  [${run.entrypoint}]` : ""}`);
        console.log(`  state       ${stateLabel(run.state)}${run.state.message ? ` - ${run.state.message}` : ""}`);
        console.log(`  started     ${time(run.startTime)}   duration ${duration(run.startTime, run.endTime)}   runs ${run.runCount}`);
        console.log(`  resources   ${resourcesLabel(run.resources)}`);
        console.log(`  parameters  ${JSON.stringify(run.parameters)}`);
        if (run.parentFlowRunId) console.log(`  parent      ${run.parentFlowRunId}`);
        if (run.error?.stack) console.log(`  error       ${run.error.stack.split("\n").join("\n              ")}`);
        const waiting = openInputRequest(run, await store.listFlowRunInputs(id));
        if (waiting) {
          console.log(`  waits for   input (${waiting.key})${waiting.description ? `: ${waiting.description}` : ""}${waiting.timeoutAt ? `, until ${time(waiting.timeoutAt)}` : ""}`);
          if (waiting.schema) console.log(`  schema      ${JSON.stringify(waiting.schema)}`);
          console.log(`  resume with baton flow-run resume ${run.id} --input '{…}'`);
        }
        console.log(`\nState history`);
        console.log(table(["time", "state", "message"], history.map((s) => [time(s.timestamp), stateLabel(s), s.message ?? ""])));
        console.log(`\nTask runs: ${summariseTaskRuns(taskRuns)}`);
        // Those that did not complete first: they are what one inspects a run for.
        const shown = [...taskRuns].sort((a, b) => Number(a.state.type === "COMPLETED") - Number(b.state.type === "COMPLETED")).slice(0, INSPECT_TASK_RUNS);
        if (shown.length)
          console.log(
            table(
              ["key", "state", "attempts", "duration", "CPU, peak memory", "message"],
              shown.map((t) => [t.taskKey, stateLabel(t.state), String(t.runCount), duration(t.startTime, t.endTime), resourcesCell(t.resources), excerptLine(t.state.message ?? "", 80)]),
            ),
          );
        if (taskRuns.length > shown.length) console.log(`(showing ${shown.length} of ${taskRuns.length.toLocaleString("en")} task runs, unfinished first; all of them: baton task-run ls --flow-run ${run.id} --limit ${taskRuns.length})`);
        if (artifacts.length) {
          console.log(`\nArtifacts (${artifacts.length}${artifacts.length === 200 ? ", the first 200" : ""})`);
          for (const a of artifacts) console.log(`  ${artifactLine(a)}`);
        }
        if (result) console.log(resultSection(result, `baton flow-run inspect ${run.id} --json`));
      });
    });

  cmd
    .command("logs <run>")
    .description("a flow run's logs")
    .option("--follow", "keep printing new lines until the run ends")
    .option("--level <level>", "minimum level: debug, info, warn, error", "debug")
    .option("--json", "print JSON (one object per line with --follow)")
    .action(async (ref: string, opts: { follow?: boolean; level: string; json?: boolean }) => {
      const minLevel = minLogLevel(opts.level);
      await withStore(async (store) => {
        const id = (await resolveFlowRun(store, ref)).id;
        const labels = new TaskLabels(store, id);
        const printed = new Set<number>();
        const collected: LogRecord[] = [];
        const print = (log: LogRecord) => {
          if (log.level < minLevel || (log.id !== undefined && printed.has(log.id))) return;
          if (log.id !== undefined) printed.add(log.id);
          if (opts.json && !opts.follow) collected.push(log);
          else console.log(opts.json ? JSON.stringify(log) : logLine(log, labels.keys));
        };
        /** Every stored line not printed yet, in order. */
        const catchUp = async () => {
          await labels.loadAll();
          let afterId = 0;
          for (;;) {
            const page = await store.listLogs({ flowRunId: id, minLevel, afterId, limit: 1000 });
            page.forEach(print);
            if (page.length < 1000) break;
            afterId = page[page.length - 1]!.id!;
          }
        };
        if (!opts.follow) {
          await catchUp();
          if (opts.json) printJson(collected);
          return;
        }
        await followUntilEnd(store, id, {
          start: catchUp,
          events: async (batch) => {
            const logs = batch.filter((event) => event.kind === "log");
            if (!opts.json) await labels.learn(logs.map((log) => log.taskRunId));
            logs.forEach(print);
          },
        });
        // Lines committed with (or just before) the final state may arrive after it.
        await catchUp();
      });
    });

  cmd
    .command("watch <run>")
    .description("follow a flow run's task states and logs live until it ends")
    .option("--json", "print each event as a JSON line")
    .option("--no-progress", "one line per state change instead of the live bars, also on a terminal")
    .action((ref: string, opts: { json?: boolean; progress: boolean }) => watchFlowRun(ref, opts));

  cmd
    .command("cancel <run>")
    .description("cancel a flow run (a running one stops at its next heartbeat)")
    .option("--json", "print the run as JSON")
    .action(async (ref: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const run = await cancelFlowRun(store, (await resolveFlowRun(store, ref)).id, "cancelled from the CLI");
        if (opts.json) printJson(run);
        else console.log(`Flow run ${run.name} (${run.id}) is ${stateLabel(run.state)}`);
      });
    });

  cmd
    .command("resume <run>")
    .description("resume a flow run paused for input (pauseFlowRun): the input must pass the schema it asked with (see inspect)")
    .option("--input <json>", "the input, as JSON", "{}")
    .option("--key <key>", "the pause answered (refused if the run now waits on another)")
    .option("--json", "print the run as JSON")
    .action(async (ref: string, opts: { input: string; key?: string; json?: boolean }) => {
      let input: unknown;
      try {
        input = JSON.parse(opts.input);
      } catch (error) {
        throw new BatonError(`--input is not JSON (${(error as Error).message}); quote it for the shell: --input '{"approve": true}'`);
      }
      await withStore(async (store) => {
        const { resumePausedFlowRun } = await import("../../services/resume-flow-run.ts");
        const run = await resumePausedFlowRun(store, (await resolveFlowRun(store, ref)).id, input, { by: "cli", key: opts.key });
        if (opts.json) printJson(run);
        else console.log(`Flow run ${run.name} (${run.id}) resumed: ${stateLabel(run.state)}${run.workPool ? `, a worker of pool "${run.workPool}" runs it on` : ""}`);
      });
    });

  cmd
    .command("retry <run>")
    .description("resume a Failed, Crashed or Cancelled flow run here: finished tasks are reused, the rest run again")
    .option("--file <path>", "the flow's module, when the run did not record its entrypoint")
    .option("--json", "print the outcome as JSON")
    .action(async (ref: string, opts: { file?: string; json?: boolean }) => {
      const run = await withStore((store) => resolveFlowRun(store, ref));
      const outcome = await (await flowOfRun(run, opts.file)).resume(run.id);
      await shutdown();
      if (opts.json) printJson(outcome);
      else console.log(`Flow run ${outcome.name} (${outcome.id}) ended ${stateLabel(outcome.state)}${outcome.error ? `: ${outcome.error.message}` : ""}`);
      if (outcome.state.type !== "COMPLETED") process.exitCode = 1;
    });

  cmd
    .command("rerun <run>")
    .description("run a flow run again as a new run, on its parameters and the asset versions it read: a worker of its pool runs it, or this process when it has none")
    .option("--here", "run it in this process, though a worker of its pool could")
    .option("--file <path>", "the flow's module, when the run did not record its entrypoint (runs it here)")
    .option("--json", "print the new run (with a worker) or its outcome (here) as JSON")
    .action(async (ref: string, opts: { here?: boolean; file?: string; json?: boolean }) => {
      const source = await withStore((store) => resolveFlowRun(store, ref));
      if (source.workPool && source.entrypoint && !opts.here && opts.file === undefined) {
        const { run, pinned } = await rerunThroughWorker(source.id);
        if (opts.json) printJson({ run, pinned });
        else
          console.log(
            `Flow run ${run.name} (${run.id}) re-runs ${source.name} (${source.id}) on its parameters and ${pinned.length} asset version(s) it read: ` +
              `${stateLabel(run.state)}, a worker of pool "${run.workPool}" runs it`,
          );
        return;
      }
      const outcome = await (await flowOfRun(source, opts.file)).rerun(source.id);
      await shutdown();
      if (opts.json) printJson(outcome);
      else console.log(`Flow run ${outcome.name} (${outcome.id}), a re-run of ${source.id}, ended ${stateLabel(outcome.state)}${outcome.error ? `: ${outcome.error.message}` : ""}`);
      if (outcome.state.type !== "COMPLETED") process.exitCode = 1;
    });

  cmd
    .command("delete <run>")
    .description("delete a flow run with its task runs, states, logs and artifacts")
    .option("--json", "print { deleted: id } as JSON")
    .action(async (ref: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const id = (await resolveFlowRun(store, ref)).id;
        await deleteFlowRun(store, id);
        if (opts.json) printJson({ deleted: id });
        else console.log(`Deleted flow run ${id}`);
      });
    });

  registerFlowRunPrune(cmd);
}

/** The flow a run was made by, loaded from `file` or the run's recorded entrypoint, to resume or re-run it here. */
async function flowOfRun(run: FlowRun, file: string | undefined): ReturnType<typeof loadFlow> {
  const module = file ?? (run.entrypoint ? splitEntrypoint(run.entrypoint).file : null);
  if (!module) throw new BatonError(`flow run ${run.id} did not record where its flow is defined; pass --file path/to/flow.ts`);
  return loadFlow(module, run.flowName);
}

/** A re-run for a worker: through the server (which records its reads before the run exists), or on the database. */
async function rerunThroughWorker(id: string): Promise<Rerun> {
  const { store, orchestration, close } = await openOrchestration();
  try {
    if (store instanceof RemoteStore) return (await store.api.request("POST", `/api/flow-runs/${encodeURIComponent(id)}/rerun`, {}, (await import("../../schemas/flow-run.ts")).FlowRunRerunSchema)) as Rerun;
    const [{ rerunFlowRun }, { KyselyAssetViews }] = await Promise.all([import("../../services/rerun-flow-run.ts"), import("../../store/asset-store.ts")]);
    return await rerunFlowRun({ runs: store, assets: new KyselyAssetViews(store as KyselyStore), deployments: orchestration, refs: valuesFor(store).refs }, id);
  } finally {
    await close();
  }
}
