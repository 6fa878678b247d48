/** `baton usage`: compute, cost, waste and failFast's savings per day and group (services/usage.ts), on the database or through the API. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { USAGE_GROUPS, UsageReportSchema, type UsageGroup, type UsageReport, type UsageTotals } from "../../schemas/usage.ts";
import { parseSince, pricesByPool, usageReport } from "../../services/usage.ts";
import { KyselyOrchestrationStore } from "../../store/orchestration-store.ts";
import { readUsage } from "../../store/usage-queries.ts";
import { withStore } from "../cli-store.ts";
import { printJson, table } from "../format.ts";

const hours = (h: number): string => (h === 0 ? "0" : h < 0.01 ? h.toFixed(4) : h.toFixed(2));
const money = (costs: Record<string, number>): string =>
  Object.entries(costs)
    .map(([currency, amount]) => `${amount.toFixed(2)} ${currency}`)
    .join(", ") || "-";
const states = (byState: Record<string, number>): string =>
  Object.entries(byState)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");

/** One table row of totals, after its label. */
function row(label: string, t: UsageTotals): string[] {
  const saved = t.failFastCancelled > 0 ? `~${hours(t.savedWallHoursEstimate)} h (${t.failFastCancelled} cancelled)` : "-";
  return [label, String(t.runs), states(t.byState), hours(t.wallHours), hours(t.cpuHours), money(t.cost), `${hours(t.wastedWallHours)} h, ${money(t.wastedCost)}`, saved];
}

const HEAD = ["runs", "by state", "wall h", "CPU h", "cost", "wasted", "saved by failFast (estimate)"];

/** The report as two tables (per day, per group) and a total line. */
export function formatUsage(report: UsageReport): string {
  if (report.total.runs === 0) return `No runs ended since ${new Date(report.since).toISOString()}.`;
  return [
    `Runs that ended from ${new Date(report.since).toISOString()} to ${new Date(report.until).toISOString()}`,
    table(["day (UTC)", ...HEAD], report.days.map((d) => row(d.day, d))),
    table([report.groupBy, ...HEAD], report.groups.map((g) => row(g.key ?? "(none)", g))),
    table(["", ...HEAD], [row("total", report.total)]),
    "Saved by failFast is an estimate: the mean wall time of Completed runs of the same flow and task key, less what the cancelled runs ran.",
  ].join("\n");
}

export function registerUsage(program: Command): void {
  program
    .command("usage")
    .description("compute hours, estimated cost, waste and failFast's savings of the runs that ended in a window, per day and per group")
    .option("--since <when>", "a duration back from now (7d, 24h) or an ISO date", "7d")
    .option("--by <group>", `group by ${USAGE_GROUPS.join(" | ")}`, "flow")
    .option("--json", "print JSON")
    .action(async (opts: { since: string; by: string; json?: boolean }) => {
      if (!(USAGE_GROUPS as readonly string[]).includes(opts.by)) throw new BatonError(`--by must be one of ${USAGE_GROUPS.join(", ")}, got "${opts.by}"`);
      const groupBy = opts.by as UsageGroup;
      await withStore(async (store) => {
        let report: UsageReport;
        if (store instanceof RemoteStore) {
          report = await store.api.request("GET", `/api/usage?group_by=${groupBy}&since=${encodeURIComponent(opts.since)}`, undefined, UsageReportSchema);
        } else {
          const now = Date.now();
          let since: number;
          try {
            since = parseSince(opts.since, now, "--since");
          } catch (error) {
            throw new BatonError((error as Error).message);
          }
          const pools = await new KyselyOrchestrationStore(store).listWorkPools();
          report = await usageReport({ readUsage: (window) => readUsage(store.db, store.dialect, window) }, { since, until: now, groupBy }, pricesByPool(pools));
        }
        if (opts.json) return printJson(report);
        console.log(formatUsage(report));
      });
    });
}
