/** `baton notification create|ls|inspect|delete|test`: the channels automations' notify actions send through. */
import fs from "node:fs";
import type { Command } from "commander";
import YAML from "yaml";
import { BatonError } from "../../core/errors.ts";
import type { NotificationChannel } from "../../store/notification-channel-store.ts";
import { openNotificationChannels, withOpened } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

/** The spec in `file` (`-`: stdin), YAML or JSON (JSON is YAML). */
function readSpec(file: string): unknown {
  const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
  if (text === null) throw new BatonError(`--file: ${file} does not exist`);
  try {
    return YAML.parse(text) as unknown;
  } catch (error) {
    throw new BatonError(`--file: ${file === "-" ? "stdin" : file} is not YAML or JSON: ${(error as Error).message}`);
  }
}

/** Where a channel delivers, masked: its URL, and for e-mail its recipients. */
function target(c: NotificationChannel): string {
  const s = c.settings as { url?: string; to?: string[] };
  return c.type === "email" ? `${(s.to ?? []).join(", ")} via ${s.url ?? ""}` : (s.url ?? "");
}

const missing = (name: string) => new BatonError(`notification channel "${name}" does not exist; see baton notification ls`);

export function registerNotification(program: Command): void {
  const cmd = program.command("notification").description("notification channels: a webhook, a Slack incoming webhook or an SMTP server, for automations' notify actions");
  cmd
    .command("create")
    .description("create a channel from a spec (YAML or JSON; see the README's Notifications section)")
    .requiredOption("-f, --file <file>", "the spec's file, or - for stdin")
    .option("--replace", "replace the channel of the same name if there is one")
    .option("--json", "print JSON")
    .action(async (opts: { file: string; replace?: boolean; json?: boolean }) => {
      const spec = readSpec(opts.file);
      await withOpened(openNotificationChannels, async ({ channels }) => {
        const c = await channels.create(spec, { replace: opts.replace });
        if (opts.json) return printJson(c);
        console.log(`Notification channel "${c.name}" ${c.createdAt === c.updatedAt ? "created" : "replaced"} (${c.type}, ${target(c)}). Try it: baton notification test ${c.name}`);
      });
    });
  cmd
    .command("ls")
    .description("list channels (credentials masked)")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openNotificationChannels, async ({ channels }) => {
        const { items: all, note } = limited(await channels.list(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No notification channels yet. Make one with: baton notification create -f channel.yaml");
        console.log(table(["name", "type", "delivers to", "changed"], all.map((c) => [c.name, c.type, target(c), time(c.updatedAt)])));
        note("channels");
      });
    });
  cmd
    .command("inspect <name>")
    .description("show a channel's spec (credentials masked)")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openNotificationChannels, async ({ channels }) => {
        const c = await channels.inspect(name);
        if (!c) throw missing(name);
        if (opts.json) return printJson(c);
        console.log(`${c.name} (${c.id}), created ${time(c.createdAt)}, changed ${time(c.updatedAt)}\n`);
        console.log(YAML.stringify({ name: c.name, ...(c.description ? { description: c.description } : {}), type: c.type, settings: c.settings }).trimEnd());
      });
    });
  cmd
    .command("delete <name>")
    .description("delete a channel (refused while an automation notifies it)")
    .action(async (name: string) => {
      await withOpened(openNotificationChannels, async ({ channels }) => {
        if (!(await channels.delete(name))) throw missing(name);
        console.log(`Notification channel ${name} deleted`);
      });
    });
  cmd
    .command("test <name>")
    .description("send a test message through a channel now")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openNotificationChannels, async ({ channels }) => {
        const result = await channels.test(name);
        if (!result) throw missing(name);
        if (opts.json) printJson(result);
        else if (result.ok) console.log(`Test message sent through ${result.channel}: ${JSON.stringify(result.result)}`);
        if (!result.ok) throw new BatonError(`the test message through ${result.channel} was not delivered: ${result.error}`);
      });
    });
}
