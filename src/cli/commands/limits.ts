/** `baton limit create|ls|inspect|reset|delete`: concurrency and rate limits. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { openOrchestration, withOpened } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { limited } from "../list-options.ts";

export function registerLimits(program: Command): void {
  const cmd = program.command("limit").description("concurrency limits (tags, global) and rate limits");
  cmd
    .command("create <name>")
    .description("create or update a limit: at most N slots held at once")
    .requiredOption("--limit <n>", "slots")
    .option("--decay <perSecond>", "make it a rate limit: a sustained rate of this many slots per second, in bursts of up to --limit")
    .action(async (name: string, opts: { limit: string; decay?: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new BatonError(`--limit must be an integer >= 1, got "${opts.limit}"`);
      const decay = opts.decay === undefined ? null : Number(opts.decay);
      if (decay !== null && !(decay > 0)) throw new BatonError(`--decay must be a number > 0, got "${opts.decay}"`);
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const l = await orchestration.upsertConcurrencyLimit({ name, limit, slotDecayPerSecond: decay });
        console.log(`Limit "${l.name}": ${l.slotDecayPerSecond ? `${l.slotDecayPerSecond} slots per second, bursts of up to ${l.limit}` : `${l.limit} slots`}`);
      });
    });
  cmd
    .command("ls")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .description("list limits with slots in use")
    .action(async (opts: { json?: boolean; limit: string }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const { items: all, note } = limited(await orchestration.listConcurrencyLimits(), opts.limit);
        if (opts.json) return printJson(all);
        if (!all.length) return console.log("No limits yet. Create one with: baton limit create NAME --limit N");
        console.log(table(["name", "in use", "limit", "rate"], all.map((l) => [l.name, String(l.activeSlots), String(l.limit), l.slotDecayPerSecond ? `${l.slotDecayPerSecond}/s` : "-"])));
        note("limits");
      });
    });
  cmd
    .command("inspect <name>")
    .option("--json", "print JSON")
    .description("a limit and the holders of its slots")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const l = await orchestration.getConcurrencyLimit(name);
        if (!l) throw new BatonError(`limit "${name}" does not exist`);
        if (opts.json) return printJson(l);
        console.log(`Limit ${l.name}: ${l.activeSlots}/${l.limit} slots in use`);
        if (l.holders.length) console.log(table(["holder", "slots", "lease expires"], l.holders.map((h) => [h.holder, String(h.slots), time(h.expiresAt)])));
      });
    });
  for (const action of ["reset", "delete"] as const)
    cmd
      .command(`${action} <name>`)
      .description(action === "reset" ? "free every slot of a limit" : "delete a limit")
      .action(async (name: string) => {
        await withOpened(openOrchestration, async ({ orchestration }) => {
          if (!(await orchestration.getConcurrencyLimit(name))) throw new BatonError(`limit "${name}" does not exist`);
          if (action === "reset") await orchestration.resetConcurrencyLimit(name);
          else await orchestration.deleteConcurrencyLimit(name);
          console.log(`Limit "${name}" ${action === "reset" ? "reset" : "deleted"}`);
        });
      });
}
