/** `baton deployment schedule ls|add|pause|resume|delete`: one schedule of a deployment at a time (baton.yaml sets them all). */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { describeSchedule, nextSlots, type ScheduleSpec } from "../../core/schedule.ts";
import { addSchedule, deleteSchedule, findSchedule } from "../../services/deployment-schedules.ts";
import { DeploymentNotFoundError } from "../../services/errors.ts";
import type { ScheduleInput } from "../../schemas/deployment.ts";
import type { Deployment, OrchestrationStore, ScheduleRecord } from "../../store/types.ts";
import { openOrchestration, withOpened } from "../cli-store.ts";
import { parseDuration, parseInstant } from "../option-values.ts";
import { printJson, table, time } from "../format.ts";

const DAY = 86_400_000;

/** The next `limit` times a schedule fires (within 30 days). */
function upcoming(s: Pick<ScheduleRecord, "spec">, limit: number): number[] {
  return nextSlots(s.spec as unknown as ScheduleSpec, Date.now(), { until: Date.now() + 30 * DAY, limit });
}

async function deployment(orchestration: OrchestrationStore, name: string): Promise<Deployment> {
  const d = await orchestration.getDeployment(name);
  if (!d) throw new DeploymentNotFoundError(name);
  return d;
}

/** The spec of `schedule add`'s flags: exactly one of --cron, --interval, --rrule. */
function specOf(opts: { cron?: string; interval?: string; rrule?: string; timezone?: string; anchor?: string }): Record<string, unknown> {
  const given = [opts.cron, opts.interval, opts.rrule].filter((v) => v !== undefined).length;
  if (given !== 1) throw new BatonError("give exactly one of --cron, --interval or --rrule");
  if (opts.anchor !== undefined && opts.interval === undefined) throw new BatonError("--anchor applies to an --interval schedule");
  if (opts.timezone !== undefined && opts.interval !== undefined) throw new BatonError("--timezone applies to --cron and --rrule schedules (an interval is the same in every zone)");
  if (opts.cron !== undefined) return { kind: "cron", cron: opts.cron, timezone: opts.timezone };
  if (opts.rrule !== undefined) return { kind: "rrule", rrule: opts.rrule, timezone: opts.timezone };
  return { kind: "interval", intervalMs: parseDuration(opts.interval!, "--interval"), anchor: opts.anchor === undefined ? undefined : parseInstant(opts.anchor, "--anchor") };
}

export function registerDeploymentSchedule(deploymentCommand: Command): void {
  const cmd = deploymentCommand.command("schedule").description("the schedules of a deployment, one at a time (named by position, id or id prefix)");
  cmd
    .command("ls <deployment>")
    .description("list a deployment's schedules with their next runs")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const d = await deployment(orchestration, name);
        if (opts.json) return printJson(d.schedules.map((s, i) => ({ position: i + 1, ...s, nextRuns: s.active && !d.paused ? upcoming(s, 3) : [] })));
        if (!d.schedules.length) return console.log(`Deployment "${d.name}" has no schedules. Add one with: baton deployment schedule add ${d.name} --cron "0 9 * * *"`);
        console.log(
          table(
            ["#", "schedule", "status", "next runs (UTC)", "id"],
            d.schedules.map((s, i) => [String(i + 1), describeSchedule(s.spec as unknown as ScheduleSpec), s.active ? "active" : "paused", s.active && !d.paused ? upcoming(s, 3).map(time).join(", ") || "-" : "-", s.id]),
          ),
        );
        if (d.paused) console.log(`(the deployment is paused: no schedule fires until baton deployment resume ${d.name})`);
      });
    });
  cmd
    .command("add <deployment>")
    .description("add a schedule to a deployment (its other schedules are kept)")
    .option("--cron <expression>", 'a cron expression, e.g. "0 9 * * 1-5"')
    .option("--interval <duration>", "every so long, e.g. 15m, 1h, 1d (at least 1s)")
    .option("--rrule <rule>", "an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE")
    .option("--timezone <zone>", "IANA time zone of a cron or rrule schedule (default UTC)")
    .option("--anchor <time>", "an interval's slots fall on this ISO date-time plus multiples of the interval")
    .option("--paused", "add it paused")
    .option("--json", "print the deployment as JSON")
    .action(async (name: string, opts: { cron?: string; interval?: string; rrule?: string; timezone?: string; anchor?: string; paused?: boolean; json?: boolean }) => {
      const spec = specOf(opts);
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const added = await addSchedule(orchestration, name, { spec: spec as ScheduleInput["spec"], active: !opts.paused }, { specField: "schedule" });
        const d = await deployment(orchestration, name);
        if (opts.json) return printJson(d);
        console.log(`Added schedule ${d.schedules.length} of "${d.name}": ${describeSchedule(added.spec as unknown as ScheduleSpec)}${added.active ? "" : " (paused)"}`);
        const next = upcoming(added, 5);
        if (next.length) console.log(`Next runs (UTC): ${next.map(time).join(", ")}`);
      });
    });
  for (const [verb, active] of [["pause", false], ["resume", true]] as const)
    cmd
      .command(`${verb} <deployment> <schedule>`)
      .description(active ? "resume one schedule of a deployment" : "pause one schedule of a deployment (its future scheduled runs go)")
      .action(async (name: string, ref: string) => {
        await withOpened(openOrchestration, async ({ orchestration }) => {
          const d = await deployment(orchestration, name);
          const { schedule, position } = findSchedule(d, ref);
          if (!(await orchestration.setScheduleActive(d.name, schedule.id, active))) throw new BatonError(`schedule ${schedule.id} of "${d.name}" was deleted meanwhile`);
          console.log(`Schedule ${position} of "${d.name}" (${describeSchedule(schedule.spec as unknown as ScheduleSpec)}) ${active ? "resumed" : "paused"}`);
        });
      });
  cmd
    .command("delete <deployment> <schedule>")
    .description("delete one schedule of a deployment (its future scheduled runs go)")
    .action(async (name: string, ref: string) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const d = await deployment(orchestration, name);
        const { schedule: removed } = findSchedule(d, ref);
        await deleteSchedule(orchestration, d.name, removed.id);
        console.log(`Deleted schedule ${describeSchedule(removed.spec as unknown as ScheduleSpec)} of "${d.name}" (${d.schedules.length - 1} left)`);
      });
    });
}
