/** `baton variable set|get|ls|delete`: named JSON values, usable as `{{ variables.name }}`. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { openValues } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";

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
      const { variables, close } = await openValues();
      try {
        const v = await variables.set({ name, value: parseVariableValue(value), tags: opts.tag });
        if (opts.json) return printJson(v);
        console.log(`Variable ${v.name} set`);
      } finally {
        await close();
      }
    });
  cmd
    .command("get <name>")
    .description("print a variable's value as JSON")
    .option("--json", "print the whole record as JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      const { variables, close } = await openValues();
      try {
        const v = await variables.get(name);
        if (!v) throw new BatonError(`variable "${name}" does not exist; set it with: baton variable set ${name} VALUE`);
        if (opts.json) return printJson(v);
        console.log(JSON.stringify(v.value, null, 2));
      } finally {
        await close();
      }
    });
  cmd
    .command("ls")
    .description("list variables")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { variables, close } = await openValues();
      try {
        const all = await variables.list();
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No variables yet. Set one with: baton variable set NAME VALUE");
        console.log(table(["name", "value", "tags", "updated"], all.map((v) => [v.name, excerpt(JSON.stringify(v.value)), v.tags.join(", "), time(v.updatedAt)])));
      } finally {
        await close();
      }
    });
  cmd
    .command("delete <name>")
    .description("delete a variable")
    .action(async (name: string) => {
      const { variables, close } = await openValues();
      try {
        if (!(await variables.delete(name))) throw new BatonError(`variable "${name}" does not exist`);
        console.log(`Variable ${name} deleted`);
      } finally {
        await close();
      }
    });
}
