/** `baton variable set|get|ls|delete`: named JSON values, usable as `{{ variables.name }}`. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { openValues, withOpened } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

/** A value given on the command line: JSON when it parses as JSON (42, true, {"a":1}, "text"), else the text itself. */
export function parseVariableValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export function registerVariable(program: Command): void {
  const cmd = program.command("variable").description("variables: named JSON values for flows (getVariable) and for {{ variables.name }} in deployments");
  cmd
    .command("set <name> <value>")
    .description("create or replace a variable; VALUE is JSON when it parses as JSON, else text")
    .option("--tag <tag>", "a tag (repeatable; replaces the variable's tags)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--json", "print JSON")
    .action(async (name: string, value: string, opts: { tag: string[]; json?: boolean }) => {
      await withOpened(openValues, async ({ variables }) => {
        const v = await variables.set({ name, value: parseVariableValue(value), tags: opts.tag });
        if (opts.json) return printJson(v);
        console.log(`Variable ${v.name} set`);
      });
    });
  cmd
    .command("get <name>")
    .description("print a variable's value as JSON")
    .option("--json", "print the whole record as JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openValues, async ({ variables }) => {
        const v = await variables.get(name);
        if (!v) throw new BatonError(`variable "${name}" does not exist; set it with: baton variable set ${name} VALUE`);
        if (opts.json) return printJson(v);
        console.log(JSON.stringify(v.value, null, 2));
      });
    });
  cmd
    .command("ls")
    .description("list variables")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openValues, async ({ variables }) => {
        const { items: all, note } = limited(await variables.list(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No variables yet. Set one with: baton variable set NAME VALUE");
        console.log(table(["name", "value", "tags", "updated"], all.map((v) => [v.name, excerpt(JSON.stringify(v.value)), v.tags.join(", "), time(v.updatedAt)])));
        note("variables");
      });
    });
  cmd
    .command("delete <name>")
    .description("delete a variable")
    .action(async (name: string) => {
      await withOpened(openValues, async ({ variables }) => {
        if (!(await variables.delete(name))) throw new BatonError(`variable "${name}" does not exist`);
        console.log(`Variable ${name} deleted`);
      });
    });
}
