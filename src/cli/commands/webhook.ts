/** `baton webhook create|ls|delete`: webhooks that turn HTTP calls into events. */
import fs from "node:fs";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { openWebhooks, withOpened } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

/** A template given as a file's path or as the expression itself. */
function readTemplate(value: string): string {
  if (fs.existsSync(value) && fs.statSync(value).isFile()) return fs.readFileSync(value, "utf8");
  if (/^[{([$"]/.test(value.trim())) return value;
  throw new BatonError(`--template: "${value.slice(0, 80)}" is neither a file nor a JSONata expression (one starts with {, [, ( or $)`);
}

export function registerWebhook(program: Command): void {
  const cmd = program.command("webhook").description("webhooks: POST /api/webhooks/SLUG turns a JSON body into an event through a JSONata template");
  cmd
    .command("create")
    .description("make a webhook (its slug is its secret: share it like a password)")
    .requiredOption("--template <file|expression>", "a JSONata expression, or a file holding one, giving { event, resource: { id }, payload? } from the body ($headers, $query bound)")
    .option("--slug <slug>", "its address: 16 to 100 letters, digits, _ or - (default: 32 random characters)")
    .option("--name <name>", "a name for it (events are related to it under it)")
    .option("--json", "print JSON")
    .action(async (opts: { template: string; slug?: string; name?: string; json?: boolean }) => {
      const template = readTemplate(opts.template);
      await withOpened(openWebhooks, async ({ webhooks }) => {
        const w = await webhooks.create({ template, slug: opts.slug, name: opts.name });
        if (opts.json) return printJson(w);
        console.log(`Webhook "${w.name}" created: POST /api/webhooks/${w.slug} (no API key needed: keep the slug secret)`);
      });
    });
  cmd
    .command("ls")
    .description("list webhooks")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openWebhooks, async ({ webhooks }) => {
        const { items: all, note } = limited(await webhooks.list(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No webhooks yet. Make one with: baton webhook create --template FILE");
        console.log(table(["slug", "name", "created", "template"], all.map((w) => [w.slug, w.name, time(w.createdAt), w.template.replace(/\s+/g, " ").slice(0, 60)])));
        note("webhooks");
      });
    });
  cmd
    .command("delete <slug>")
    .description("delete a webhook (its slug stops working at once)")
    .action(async (slug: string) => {
      await withOpened(openWebhooks, async ({ webhooks }) => {
        if (!(await webhooks.delete(slug))) throw new BatonError(`webhook "${slug}" does not exist`);
        console.log(`Webhook ${slug} deleted`);
      });
    });
}
