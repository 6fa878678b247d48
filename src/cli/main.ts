/** The `baton` command line. */
import { Command, CommanderError } from "commander";
import { registerRun } from "./commands/run.ts";
import { registerFlowRun } from "./commands/flow-run.ts";
import { registerMisc } from "./commands/misc.ts";
import { registerServer } from "./commands/server.ts";
import { registerWorker } from "./commands/worker.ts";
import { registerDeployment } from "./commands/deployment.ts";
import { registerLimits } from "./commands/limits.ts";
import { registerEvents } from "./commands/events.ts";
import { registerWebhook } from "./commands/webhook.ts";
import { registerAutomation } from "./commands/automation.ts";
import { registerNotification } from "./commands/notification.ts";
import { registerVariable } from "./commands/variable.ts";
import { registerSecret } from "./commands/secret.ts";
import { registerApiKey } from "./commands/api-key.ts";
import { registerAccount } from "./commands/account.ts";
import { registerAudit, registerFlowRunReport } from "./commands/audit.ts";

export function buildProgram(): Command {
  const program = new Command("baton")
    .description("Baton: workflow orchestration for AI and data pipelines")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  registerRun(program);
  registerFlowRun(program);
  registerMisc(program);
  registerServer(program);
  registerWorker(program);
  registerDeployment(program);
  registerLimits(program);
  registerEvents(program);
  registerWebhook(program);
  registerAutomation(program);
  registerNotification(program);
  registerVariable(program);
  registerSecret(program);
  registerApiKey(program);
  registerAccount(program);
  registerAudit(program);
  registerFlowRunReport(program.commands.find((c) => c.name() === "flow-run")!);
  return program;
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
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`baton: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await runCli(process.argv);
