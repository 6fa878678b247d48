/**
 * `baton secret set|ls|delete`. A value is read from standard input (piped) or a hidden prompt,
 * never from the command line, where shell history and `ps` would keep it; nothing printed ever
 * contains it.
 */
import readline from "node:readline";
import { Writable } from "node:stream";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { openValues, withOpened } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

/** All of piped standard input, less one trailing newline (what `echo` adds). */
export async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

/** A line typed at the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  process.stderr.write(question);
  let muted = false;
  // Echo goes nowhere while the value is typed.
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (muted ? done() : (process.stderr.write(chunk), done())) });
  const rl = readline.createInterface({ input: process.stdin, output: sink, terminal: true });
  muted = true;
  return new Promise((resolve, reject) => {
    rl.once("line", (line) => {
      rl.close();
      process.stderr.write("\n");
      resolve(line);
    });
    rl.once("SIGINT", () => {
      rl.close();
      reject(new BatonError("cancelled: no secret set"));
    });
  });
}

export function registerSecret(program: Command): void {
  const cmd = program.command("secret").description("secrets: encrypted values for flows (getSecret) and for {{ secrets.name }} in job variables");
  cmd
    .command("set <name> [refused...]")
    .description("set a secret from standard input (piped) or a hidden prompt; never from the command line")
    .option("--json", "print JSON (the name and times)")
    .action(async (name: string, refused: string[], opts: { json?: boolean }) => {
      if (refused.length)
        throw new BatonError(`a secret's value is never taken from the command line (shell history and ps would keep it); pipe it in: baton secret set ${name} < FILE, or run baton secret set ${name} and type it at the prompt`);
      const value = process.stdin.isTTY ? await promptHidden(`Value of secret ${name} (hidden): `) : await readPiped();
      if (!value) throw new BatonError(`no value for secret "${name}": standard input was empty`);
      await withOpened(openValues, async ({ secrets }) => {
        const s = await secrets.set(name, value);
        if (opts.json) return printJson(s);
        console.log(`Secret ${s.name} set (use it as {{ secrets.${s.name} }} in job variables, or getSecret("${s.name}") in code)`);
      });
    });
  cmd
    .command("ls")
    .description("list secrets: names and times, never values")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openValues, async ({ secrets }) => {
        const { items: all, note } = limited(await secrets.list(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No secrets yet. Set one with: baton secret set NAME (the value from stdin or a hidden prompt)");
        console.log(table(["name", "created", "updated"], all.map((s) => [s.name, time(s.createdAt), time(s.updatedAt)])));
        note("secrets");
      });
    });
  cmd
    .command("delete <name>")
    .description("delete a secret")
    .action(async (name: string) => {
      await withOpened(openValues, async ({ secrets }) => {
        if (!(await secrets.delete(name))) throw new BatonError(`secret "${name}" does not exist`);
        console.log(`Secret ${name} deleted`);
      });
    });
}
