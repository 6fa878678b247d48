/** `baton automation create|ls|inspect|pause|resume|delete`: triggers on the event log, and the actions they run. */
import fs from "node:fs";
import type { Command } from "commander";
import YAML from "yaml";
import { BatonError } from "../../core/errors.ts";
import type { AutomationFiring } from "../../store/automation-types.ts";
import { openAutomations, withOpened } from "../cli-store.ts";
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

/** "etl.failed ×3 in 10m per related.flow", "no nightly.completed in 26h", "all of (a, b) in 1h". */
function triggerText(trigger: Record<string, unknown>): string {
  const children = (trigger.all ?? trigger.any) as Record<string, unknown>[] | undefined;
  if (children) return `${trigger.all ? "all" : "any"} of (${children.map(triggerText).join(", ")})${trigger.within ? ` in ${String(trigger.within)}` : ""}`;
  const events = [trigger.event].flat().join("|");
  const threshold = Number(trigger.threshold ?? 1);
  const within = trigger.within && trigger.within !== "0s" ? ` in ${String(trigger.within)}` : "";
  const per = trigger.for_each ? ` per ${String(trigger.for_each)}` : "";
  return trigger.posture === "proactive" ? `no ${threshold > 1 ? `${threshold}× ` : ""}${events}${within}${per}` : `${events}${threshold > 1 ? ` ×${threshold}` : ""}${within}${per}`;
}

function firingText(f: AutomationFiring | null): string {
  if (!f) return "never";
  return `${time(f.firedAt)} (${f.reason}${f.bucket ? ` ${f.bucket}` : ""}): ${f.actions.map((a) => `${a.type} ${a.status}`).join(", ")}`;
}

function printFiring(f: AutomationFiring): void {
  const cause = f.event ? `${f.event.event} ${f.event.resource.id}` : "no event in the window";
  console.log(`  ${time(f.firedAt)}  ${f.reason}${f.bucket ? ` [${f.bucket}]` : ""}  ${f.events.length} event(s); ${cause}  (firing ${f.id})`);
  for (const a of f.actions) {
    const last = a.outcomes.at(-1);
    const detail = last ? (last.ok ? JSON.stringify(last.result ?? null) : last.error) : "";
    console.log(`    ${a.index}. ${a.type}: ${a.status} after ${a.attempts} attempt(s)${detail ? `  ${detail}` : ""}`);
  }
}

export function registerAutomation(program: Command): void {
  const cmd = program.command("automation").description("automations: a trigger on the event log, and the actions it runs when it fires");
  cmd
    .command("create")
    .description("create an automation from a spec (YAML or JSON; see the README's Automations section)")
    .requiredOption("-f, --file <file>", "the spec's file, or - for stdin")
    .option("--replace", "replace the automation of the same name if there is one")
    .option("--json", "print JSON")
    .action(async (opts: { file: string; replace?: boolean; json?: boolean }) => {
      const spec = readSpec(opts.file);
      await withOpened(openAutomations, async ({ automations }) => {
        const a = await automations.create(spec, { replace: opts.replace });
        if (opts.json) return printJson(a);
        console.log(`Automation "${a.name}" ${a.createdAt === a.updatedAt ? "created" : "replaced"} (${a.id}): ${triggerText(a.spec.trigger)} → ${a.spec.actions.map((x) => x.type).join(", ")}`);
      });
    });
  cmd
    .command("ls")
    .description("list automations with their last firing")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openAutomations, async ({ automations }) => {
        const { items: all, note } = limited(await automations.list(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No automations yet. Make one with: baton automation create -f spec.yaml");
        console.log(
          table(
            ["name", "trigger", "actions", "state", "last firing"],
            all.map((a) => [a.name, triggerText(a.spec.trigger), a.spec.actions.map((x) => x.type).join(", "), a.paused ? "paused" : "active", firingText(a.lastFiring)]),
          ),
        );
        note("automations");
      });
    });
  cmd
    .command("inspect <name>")
    .description("show an automation's spec and its last firings with each action's outcome")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openAutomations, async ({ automations }) => {
        const a = await automations.inspect(name);
        if (!a) throw new BatonError(`automation "${name}" does not exist; see baton automation ls`);
        if (opts.json) return printJson(a);
        console.log(`${a.name} (${a.id}) ${a.paused ? "paused" : "active"}, created ${time(a.createdAt)}, changed ${time(a.updatedAt)}\n`);
        console.log(YAML.stringify(a.spec).trimEnd());
        console.log(a.firings.length ? `\nLast ${a.firings.length} firing(s), newest first:` : "\nNo firings yet.");
        a.firings.forEach(printFiring);
      });
    });
  for (const [verb, paused] of [["pause", true], ["resume", false]] as const)
    cmd
      .command(`${verb} <name>`)
      .description(paused ? "pause an automation (events are not counted while paused)" : "resume an automation (its windows start over)")
      .action(async (name: string) => {
        await withOpened(openAutomations, async ({ automations }) => {
          if (!(await automations.setPaused(name, paused))) throw new BatonError(`automation "${name}" does not exist; see baton automation ls`);
          console.log(`Automation ${name} ${paused ? "paused" : "resumed"}`);
        });
      });
  cmd
    .command("delete <name>")
    .description("delete an automation with its trigger state, firings and pending actions")
    .action(async (name: string) => {
      await withOpened(openAutomations, async ({ automations }) => {
        if (!(await automations.delete(name))) throw new BatonError(`automation "${name}" does not exist; see baton automation ls`);
        console.log(`Automation ${name} deleted`);
      });
    });
}
