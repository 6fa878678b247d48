/**
 * The `baton` command line. Its commands are registered lazily: `baton --help` lists them from
 * the table of nouns.mjs without importing any command's implementation (each pulls in the
 * store, the engine or the server), and `baton NOUN ...` imports only the module of that noun.
 */
import { CommanderError, type Command } from "commander";
import { addStub, newProgram, NOUNS, type NounModule } from "./nouns.mjs";
import { flushTracing, startTracing } from "../telemetry/tracing.ts";

export { NOUNS };

type Register = (program: Command) => void;

/** The modules of the commands, each loaded on use; one may register several top-level commands. */
const MODULES = {
  run: async () => (await import("./commands/run.ts")).registerRun,
  // `flow-run report` is the audit module's (it renders from the audit log).
  flowRun: async () => {
    const [{ registerFlowRun }, { registerFlowRunReport }] = await Promise.all([import("./commands/flow-run.ts"), import("./commands/audit.ts")]);
    return (program: Command) => {
      registerFlowRun(program);
      registerFlowRunReport(program.commands.find((c) => c.name() === "flow-run")!);
    };
  },
  taskRun: async () => (await import("./commands/task-run.ts")).registerTaskRun,
  misc: async () => (await import("./commands/misc.ts")).registerMisc,
  config: async () => (await import("./commands/config.ts")).registerConfig,
  server: async () => (await import("./commands/server.ts")).registerServer,
  dashboard: async () => (await import("./commands/dashboard.ts")).registerDashboard,
  worker: async () => (await import("./commands/worker.ts")).registerWorker,
  workQueue: async () => (await import("./commands/work-queue.ts")).registerWorkQueue,
  deployment: async () => (await import("./commands/deployment.ts")).registerDeployment,
  limits: async () => (await import("./commands/limits.ts")).registerLimits,
  events: async () => (await import("./commands/events.ts")).registerEvents,
  webhook: async () => (await import("./commands/webhook.ts")).registerWebhook,
  experiment: async () => (await import("./commands/experiment.ts")).registerExperiment,
  model: async () => (await import("./commands/model.ts")).registerModel,
  asset: async () => (await import("./commands/asset.ts")).registerAsset,
  automation: async () => (await import("./commands/automation.ts")).registerAutomation,
  notification: async () => (await import("./commands/notification.ts")).registerNotification,
  variable: async () => (await import("./commands/variable.ts")).registerVariable,
  secret: async () => (await import("./commands/secret.ts")).registerSecret,
  apiKey: async () => (await import("./commands/api-key.ts")).registerApiKey,
  account: async () => (await import("./commands/account.ts")).registerAccount,
  audit: async () => (await import("./commands/audit.ts")).registerAudit,
  usage: async () => (await import("./commands/usage.ts")).registerUsage,
  // Completion lists every command: it registers them all when it runs.
  completion: async () => {
    const { registerCompletion } = await import("./commands/completion.ts");
    return (program: Command) => registerCompletion(program, buildProgram);
  },
} satisfies Record<NounModule, () => Promise<Register>>;

/**
 * The program with `modules` registered in full (in the listing's order) and every other
 * command as a stub that only lists it.
 */
async function programWith(modules: ReadonlySet<NounModule>): Promise<Command> {
  const program = newProgram();
  const registered = new Set<NounModule>();
  for (const noun of NOUNS) {
    if (program.commands.some((c) => c.name() === noun.name)) continue;
    if (modules.has(noun.module) && !registered.has(noun.module)) {
      registered.add(noun.module);
      (await MODULES[noun.module]())(program);
    } else if (!modules.has(noun.module)) addStub(program, noun);
  }
  return program;
}

/** The program with every command registered in full (shell completion and tests read the whole tree). */
export function buildProgram(): Promise<Command> {
  return programWith(new Set(NOUNS.map((n) => n.module)));
}

/**
 * The program for `argv`: the command it names registered in full, the others as stubs
 * (`baton --help` lists them; a mistyped one gets suggestions).
 */
export function programFor(argv: readonly string[]): Promise<Command> {
  const args = argv.slice(2);
  const named = args[0] === "help" ? args[1] : args.find((a) => !a.startsWith("-"));
  const noun = NOUNS.find((n) => n.name === named);
  return programWith(new Set(noun ? [noun.module] : []));
}

/**
 * A reader that stops early (`baton task-run ls | head`) closes the pipe, and the next write
 * fails with EPIPE, an 'error' event that would end the process with a stack trace. The reader
 * has what it wanted: end quietly, as a Unix filter ends on SIGPIPE (which Node ignores).
 */
function endQuietlyWhenReaderCloses(stream: NodeJS.WriteStream): void {
  if (stream.listeners("error").includes(onPipeError)) return;
  stream.on("error", onPipeError);
}

function onPipeError(error: NodeJS.ErrnoException): void {
  if (error.code !== "EPIPE") throw error;
  process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
}

/** Runs the CLI; returns the exit code. Errors go to stderr as one clear line. */
export async function runCli(argv: string[]): Promise<number> {
  endQuietlyWhenReaderCloses(process.stdout);
  endQuietlyWhenReaderCloses(process.stderr);
  // With an OTLP endpoint in the environment (OTEL_EXPORTER_OTLP_ENDPOINT), commands are traced.
  await startTracing();
  try {
    await (await programFor(argv)).parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`baton: ${(error as Error).message}\n`);
    return 1;
  } finally {
    // A run's process lives a second: its spans are sent before it exits.
    await flushTracing();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await runCli(process.argv);
