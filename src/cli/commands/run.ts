/** `baton run FILE`: runs a flow from a file against the configured store and reports its outcome. */
import type { Command } from "commander";
import { getRuntime, shutdown } from "../../sdk/runtime.ts";
import { loadFlow, parseParams } from "../load-flow.ts";
import { loadSettings } from "../../config/settings.ts";
import { consoleOutput } from "../../engine/run-logger.ts";
import { printJson, summariseTaskRuns } from "../format.ts";
import { startLiveView } from "../live-view.ts";
import { dashboardUrl, flowRunUrl } from "../dashboard-url.ts";
import { previewValue } from "../result-preview.ts";

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a flow exported by a TypeScript or JavaScript file")
    .argument("<file>", "module that exports the flow")
    .option("--flow <name>", "the flow to run, when the file exports several")
    .option("--param <key=value>", "a parameter (repeatable; values parse as JSON when they can)", collect, [])
    .option("--params-json <json>", "all parameters as one JSON object")
    .option("--json", "print the outcome as JSON")
    .option("-q, --quiet", "no progress display and no log lines: only the outcome")
    .option("--no-progress", "plain lines (one per task run that ends) instead of the live bars, also on a terminal")
    .action(async (file: string, options: { flow?: string; param: string[]; paramsJson?: string; json?: boolean; quiet?: boolean; progress: boolean }) => {
      const params = parseParams(options.param, options.paramsJson);
      const target = await loadFlow(file, options.flow);
      const started = Date.now();
      const runtime = await getRuntime();
      const dashboard = dashboardUrl(loadSettings());
      const link = dashboard ? (id: string) => flowRunUrl(dashboard, id) : null;
      const view = options.json || options.quiet ? null : startLiveView(runtime, target.flowName, { dashboard: link, progress: options.progress });
      const echo = consoleOutput.write;
      if (options.quiet) consoleOutput.write = () => undefined;
      let outcome;
      try {
        outcome = await (target.run as (p?: unknown) => ReturnType<typeof target.run>)(params);
      } finally {
        view?.stop();
        consoleOutput.write = echo;
      }
      const taskRuns = await runtime.store.listTaskRuns(outcome.id);
      if (options.json) {
        printJson({ ...outcome, taskRuns: taskRuns.length });
      } else {
        const seconds = ((Date.now() - started) / 1000).toFixed(2);
        process.stdout.write(`\nFlow run ${outcome.name} (${outcome.id}) of "${target.flowName}" ended ${outcome.state.name} in ${seconds} s\n`);
        process.stdout.write(`Task runs: ${summariseTaskRuns(taskRuns)}\n`);
        if (link) process.stdout.write(`Dashboard: ${link(outcome.id)}\n`);
        if (outcome.state.type === "COMPLETED") process.stdout.write(`Result: ${previewValue(outcome.result, `baton flow-run inspect ${outcome.id} --json`)}\n`);
        else process.stdout.write(`Error: ${outcome.error?.message ?? outcome.state.message ?? "unknown"}\n`);
      }
      await shutdown();
      if (outcome.state.type !== "COMPLETED") process.exitCode = 1;
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
