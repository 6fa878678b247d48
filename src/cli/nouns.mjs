// The table of `baton`'s top-level commands: what `baton --help` lists, read without loading
// TypeScript (bin/baton.js answers `baton`, `--help` and `--version` from it alone, before it
// registers tsx). src/cli/main.ts loads each command's module when the command runs; a test
// checks each description here against its module's.
import { Command } from "commander";

/** Every top-level command, in the order `baton --help` lists them, with the module that registers it. */
export const NOUNS = [
  { name: "run", module: "run", description: "run a flow exported by a TypeScript or JavaScript file" },
  { name: "flow-run", module: "flowRun", description: "inspect and operate flow runs" },
  { name: "task-run", module: "taskRun", description: "task runs of a flow run: list, inspect, logs" },
  { name: "flow", module: "misc", description: "flows" },
  { name: "config", module: "config", description: "settings: view them, set or unset them in config.toml" },
  { name: "db", module: "misc", description: "the database" },
  { name: "server", module: "server", description: "the Baton API server" },
  { name: "dashboard", module: "dashboard", description: "the dashboard in a browser" },
  { name: "worker", module: "worker", description: "workers run the flow runs of a work pool" },
  { name: "work-pool", module: "worker", description: "work pools and their queues" },
  { name: "work-queue", module: "workQueue", description: "queues of a work pool" },
  { name: "execute-flow-run", module: "worker", hidden: true, description: "run a claimed flow run in this process (what a worker starts)" },
  { name: "deploy", module: "deployment", description: "create or update the deployments of baton.yaml" },
  { name: "deployment", module: "deployment", description: "deployments: flows turned into production jobs" },
  { name: "limit", module: "limits", description: "concurrency limits (tags, global) and rate limits" },
  { name: "events", module: "events", description: "the durable event log: state changes, deployments, pools, webhooks, your code's emitEvent()" },
  { name: "webhook", module: "webhook", description: "webhooks: POST /api/webhooks/SLUG turns a JSON body into an event through a JSONata template" },
  { name: "experiment", module: "experiment", description: "experiments: the parameters and metrics runs logged (logParams, logMetric), compared" },
  { name: "asset", module: "asset", description: "assets: the data and models runs read and materialise, their versions and lineage" },
  { name: "model", module: "model", description: "the model registry: versions, aliases, gated promotion and rollback" },
  { name: "automation", module: "automation", description: "automations: a trigger on the event log, and the actions it runs when it fires" },
  { name: "notification", module: "notification", description: "notification channels: a webhook, a Slack incoming webhook or an SMTP server, for automations' notify actions" },
  { name: "variable", module: "variable", description: "variables: named JSON values for flows (getVariable) and for {{ variables.name }} in deployments" },
  { name: "secret", module: "secret", description: "secrets: encrypted values for flows (getSecret) and for {{ secrets.name }} in job variables" },
  { name: "api-key", module: "apiKey", description: "API keys stored by the server (roles: admin, developer, operator, viewer, worker)" },
  { name: "account", module: "account", description: "dashboard accounts (user name and password) created by an admin" },
  { name: "audit", module: "audit", description: "the audit log: who did what (every mutating API call, sign-in, and run a schedule or automation started), hash-chained" },
  { name: "usage", module: "usage", description: "compute hours, estimated cost, waste and failFast's savings of the runs that ended in a window, per day and per group" },
  { name: "completion", module: "completion", description: "print a shell completion script: baton completion bash|zsh" },
];

/** The program, without commands. */
export function newProgram() {
  return new Command("baton").description("Baton: workflow orchestration for AI and data pipelines").version("0.1.0").showHelpAfterError().exitOverride();
}

/** Lists `noun` on `program` without its implementation: enough for help and suggestions. */
export function addStub(program, noun) {
  program.command(noun.name, { hidden: noun.hidden }).description(noun.description);
}

/** Whether `args` (argv after the script) only ask for the listing or the version. */
export function asksForListingOnly(args) {
  return args.length === 0 || (args.length === 1 && ["--help", "-h", "help", "--version", "-V"].includes(args[0]));
}

/** `baton`, `baton --help`, `baton --version`: answered from the table; returns the exit code. */
export async function printListing(argv) {
  const program = newProgram();
  for (const noun of NOUNS) addStub(program, noun);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (typeof error?.exitCode === "number") return error.exitCode;
    throw error;
  }
}
