/**
 * `baton audit verify|ls` and `baton flow-run report`: the tamper-evident audit log, and a run's
 * compliance report — on the database, or through the server (an admin key) in remote mode.
 */
import fs from "node:fs";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { RemoteAudit, type AuditReader } from "../../client/remote-audit.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { AUDIT_OUTCOMES } from "../../core/audit-chain.ts";
import type { AuditEntry } from "../../schemas/audit.ts";
import { RUN_REPORT_FORMATS, type RunReportFormat } from "../../schemas/run-report.ts";
import { buildRunReport } from "../../services/run-report.ts";
import { renderRunReport } from "../../services/run-report-render.ts";
import { KyselyAuditLog } from "../../store/audit-log.ts";
import { KyselyOrchestrationStore } from "../../store/orchestration-store.ts";
import { openCliStore } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { parseSince } from "./events.ts";

/** The audit log and reports of the CLI's store, with a `close`. */
async function openAudit(): Promise<AuditReader & { close(): Promise<void> }> {
  const store = await openCliStore();
  if (store instanceof RemoteStore) return Object.assign(new RemoteAudit(store.api), { close: () => store.close() });
  const audit = new KyselyAuditLog(store);
  const orchestration = new KyselyOrchestrationStore(store);
  return {
    list: (query) => audit.list(query),
    verify: () => audit.verify(),
    report: (id) => buildRunReport({ runs: store, deployments: orchestration, audit }, id),
    close: () => store.close(),
  };
}

async function withAudit<T>(fn: (audit: AuditReader) => Promise<T>): Promise<T> {
  const audit = await openAudit();
  try {
    return await fn(audit);
  } finally {
    await audit.close();
  }
}

const actorLabel = (e: AuditEntry) => `${e.actor.name}${e.actor.role ? ` (${e.actor.role})` : ""}`;

export function registerAudit(program: Command): void {
  const cmd = program.command("audit").description("the audit log: who did what (every mutating API call, sign-in, and run a schedule or automation started), hash-chained");
  cmd
    .command("verify")
    .description("check the audit log's hash chain from its first row; exits 1 naming the first row edited, deleted or out of place")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const result = await withAudit((audit) => audit.verify());
      if (opts.json) printJson(result);
      else if (result.ok) console.log(`Audit log verifies: ${result.checked} rows${result.head ? `, head row ${result.head.seq} hash ${result.head.hash}` : ""}`);
      if (!result.ok) {
        if (!opts.json) process.stderr.write(`baton: the audit log does not verify: row ${result.broken!.seq}: ${result.broken!.reason} (${result.checked} rows before it verify)\n`);
        process.exitCode = 1;
      }
    });
  cmd
    .command("ls")
    .description("list audit entries, newest first")
    .option("--since <when>", "entries since: 15m, 1h, 1d ago, or an ISO date/time", "1d")
    .option("--actor <id-or-name>", "only this actor's entries (a key's or account's id or name, a schedule's or automation's)")
    .option("--action <text>", "only actions containing this text (sign-in, /api/deployments)")
    .option("--target <id>", "only entries that touched this id (a flow run's, a deployment's name)")
    .option("--outcome <outcome>", `only this outcome: ${AUDIT_OUTCOMES.join(", ")}`)
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "print JSON")
    .action(async (opts: { since: string; actor?: string; action?: string; target?: string; outcome?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BatonError(`--limit must be an integer from 1 to 1000, got "${opts.limit}"`);
      if (opts.outcome !== undefined && !(AUDIT_OUTCOMES as readonly string[]).includes(opts.outcome)) throw new BatonError(`--outcome must be one of ${AUDIT_OUTCOMES.join(", ")}, got "${opts.outcome}"`);
      const query = { since: parseSince(opts.since), actor: opts.actor, action: opts.action, target: opts.target, outcome: opts.outcome as AuditEntry["outcome"] | undefined, limit };
      const page = await withAudit((audit) => audit.list(query));
      if (opts.json) return printJson(page.items);
      if (!page.items.length) return console.log(`No audit entries since ${time(query.since)}.`);
      console.log(table(["#", "time", "actor", "action", "outcome", "targets", "client"], page.items.map((e) => [String(e.seq), time(e.at), actorLabel(e), e.action, `${e.outcome}${e.status === null ? "" : ` ${e.status}`}`, e.targets.join(", "), e.clientIp ?? ""])));
    });
}

/** `baton flow-run report ID`, registered under the flow-run command. */
export function registerFlowRunReport(flowRun: Command): void {
  flowRun
    .command("report <id>")
    .description("a run's compliance report: who or what started it, source and lock-file hashes, parameters, task input/output hashes, timings, state history, audit entries, chain check")
    .option("--format <format>", `${RUN_REPORT_FORMATS.join(", ")}`, "md")
    .option("-o, --output <file>", "write it to a file (default: stdout; a PDF needs a file or a pipe)")
    .action(async (id: string, opts: { format: string; output?: string }) => {
      if (!(RUN_REPORT_FORMATS as readonly string[]).includes(opts.format)) throw new BatonError(`--format must be one of ${RUN_REPORT_FORMATS.join(", ")}, got "${opts.format}"`);
      const report = await withAudit((audit) => audit.report(id));
      const rendered = await renderRunReport(report, opts.format as RunReportFormat);
      if (opts.output) fs.writeFileSync(opts.output, rendered.body);
      else if (opts.format === "pdf" && process.stdout.isTTY) throw new BatonError("--format pdf writes binary: give --output FILE or redirect stdout to a file");
      else await new Promise<void>((resolve, reject) => process.stdout.write(rendered.body, (error) => (error ? reject(error) : resolve())));
    });
}
