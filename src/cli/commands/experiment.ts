/** `baton experiment ls|runs|compare`: the parameters and metrics runs logged, side by side. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { RemoteExperiments } from "../../client/remote-experiments.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { KyselyExperimentViews, type ExperimentRun, type ExperimentViews } from "../../store/experiment-store.ts";
import type { KyselyStore } from "../../store/kysely-store.ts";
import { withStore } from "../cli-store.ts";
import { printJson, stateLabel, table, time } from "../format.ts";
import { parseLimit } from "../list-options.ts";

const views = (store: RemoteStore | KyselyStore): ExperimentViews => (store instanceof RemoteStore ? new RemoteExperiments(store.api) : new KyselyExperimentViews(store));

/** A value as a cell: numbers to 4 significant digits, the rest as JSON, cut at 30 characters. */
function cell(value: unknown): string {
  if (value === undefined) return "";
  const text = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toPrecision(4)) : typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}

/** `loss` or `-loss` (descending); runs without the metric go last. */
function sortRuns(runs: ExperimentRun[], spec: string | undefined): ExperimentRun[] {
  if (!spec) return runs;
  const descending = spec.startsWith("-");
  const metric = descending ? spec.slice(1) : spec;
  if (!runs.some((r) => r.metrics[metric])) throw new BatonError(`--sort: no run logged the metric "${metric}"; metrics logged: ${[...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].join(", ") || "none"}`);
  const value = (r: ExperimentRun) => r.metrics[metric]?.last;
  return [...runs].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
    return descending ? y - x : x - y;
  });
}

/** One row per run: its name, state, then every parameter and every metric's last value. */
function runsTable(runs: ExperimentRun[]): string {
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))];
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  return table(
    ["run", "state", ...params, ...metrics],
    runs.map((r) => [r.name, stateLabel({ type: r.stateType, name: r.stateName }), ...params.map((p) => cell(r.params[p])), ...metrics.map((m) => cell(r.metrics[m]?.last))]),
  );
}

/** Runs as columns: a row per parameter (marked * where the runs differ), then per metric. */
function compareTable(runs: ExperimentRun[]): string {
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const differs = (p: string) => new Set(runs.map((r) => JSON.stringify(r.params[p]))).size > 1;
  return table(
    ["", ...runs.map((r) => r.name)],
    [
      ["experiment", ...runs.map((r) => r.experiment)],
      ["state", ...runs.map((r) => stateLabel({ type: r.stateType, name: r.stateName }))],
      ...params.map((p) => [`${differs(p) ? "* " : ""}param ${p}`, ...runs.map((r) => cell(r.params[p]))]),
      ...metrics.map((m) => [`metric ${m}`, ...runs.map((r) => (r.metrics[m] ? `${cell(r.metrics[m].last)} (step ${r.metrics[m].lastStep})` : ""))]),
    ],
  );
}

export function registerExperiment(program: Command): void {
  const cmd = program.command("experiment").description("experiments: the parameters and metrics runs logged (logParams, logMetric), compared");
  cmd
    .command("ls")
    .description("list experiments, most recently run first")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const all = await views(store).listExperiments();
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No experiments yet: call logParams or logMetric in a flow or a task");
        console.log(table(["experiment", "runs", "last run"], all.map((e) => [e.name, String(e.runs), time(e.lastRunAt)])));
      });
    });
  cmd
    .command("runs <experiment>")
    .description("an experiment's runs (flow runs, or the task runs of a search) with their parameters and metrics' last values")
    .option("--sort <metric>", "sort by a metric's last value, ascending; -metric for descending")
    .option("--limit <n>", "how many of the newest runs (1 to 1000)", "200")
    .option("--json", "print JSON")
    .action(async (experiment: string, opts: { sort?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(opts.limit, 1000);
      await withStore(async (store) => {
        const runs = await views(store).experimentRuns(experiment, { limit });
        if (!runs.length) throw new BatonError(`experiment "${experiment}" has no runs; see baton experiment ls`);
        const sorted = sortRuns(runs, opts.sort);
        if (opts.json) return printJson(sorted);
        console.log(runsTable(sorted));
      });
    });
  cmd
    .command("compare <runs...>")
    .description("runs side by side (flow run or task run ids): parameters, * where they differ, and metrics")
    .option("--json", "print JSON")
    .action(async (ids: string[], opts: { json?: boolean }) => {
      if (ids.length > 50) throw new BatonError(`compare takes at most 50 runs, got ${ids.length}`);
      await withStore(async (store) => {
        const runs = await views(store).getExperimentRuns(ids);
        const missing = ids.filter((id) => !runs.some((r) => r.runId === id));
        if (missing.length) throw new BatonError(`${missing.join(", ")}: no such run logged parameters or metrics; see baton experiment runs NAME`);
        if (opts.json) return printJson(runs);
        console.log(compareTable(runs));
      });
    });
}
